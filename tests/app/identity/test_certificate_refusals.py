"""Every refusal in shared/identity/_certificate_material.py with its exact message, hint and code,
and the facts a parse gives (subject, issuer, validity, days left, EC keys, content types)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from devstack.tenant.pki import CertificateAuthority, IssuedCertificate, new_rsa_key
from shared.errors import CertificateError
from shared.identity._certificate_material import PEM, PKCS12, load_certificate, load_public_certificate

NOW = dt.datetime.now(dt.UTC)


def _cert_for(ca: CertificateAuthority, public_key: object, **validity: dt.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "other-key")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)  # type: ignore[arg-type]  # RSA, EC or Ed25519 here
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity.get("not_before", NOW - dt.timedelta(days=1)))
        .not_valid_after(validity.get("not_after", NOW + dt.timedelta(days=30)))
        .sign(ca.key, hashes.SHA256())
    )


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _refusal(load: Callable[[], object]) -> tuple[str, str | None, str | None, str]:
    with pytest.raises(CertificateError) as info:
        load()
    return info.value.message, info.value.hint, info.value.code, info.value.step


def test_unsupported_content_type(issued: IssuedCertificate) -> None:
    """A content type other than PFX or PEM names itself and both accepted types."""
    assert _refusal(lambda: load_certificate(issued.pem_bundle(), "text/plain; charset=utf-8")) == (
        "Unsupported certificate content type 'text/plain; charset=utf-8'; expected "
        "application/x-pkcs12 or application/x-pem-file.",
        "Import the certificate into Key Vault as PFX or PEM.",
        "CertificateUnsupported",
        "certificate",
    )


def test_a_key_neither_rsa_nor_ec(ca: CertificateAuthority) -> None:
    """An Ed25519 certificate is refused: Entra accepts RSA certificates."""
    key = ed25519.Ed25519PrivateKey.generate()
    bundle = _pem_key(key) + _cert_pem(_cert_for(ca, key.public_key()))
    assert _refusal(lambda: load_certificate(bundle, PEM))[:3] == (
        "The certificate's private key is not RSA or EC; Entra accepts RSA certificates.",
        "Create the certificate with an RSA key (2048 bits or more).",
        "CertificateUnsupported",
    )


def test_a_key_of_another_certificate(issued: IssuedCertificate) -> None:
    """A PEM whose key is not the certificate's is refused as a mismatch."""
    bundle = _pem_key(new_rsa_key()) + issued.cert_pem()
    assert _refusal(lambda: load_certificate(bundle, PEM))[:3] == (
        "The private key does not belong to the certificate.",
        "Re-import a matching PFX/PEM.",
        "CertificateKeyMismatch",
    )


def test_expired_exact_text(ca: CertificateAuthority) -> None:
    """An expired certificate names its subject and end; one ending exactly now is expired too."""
    end = NOW.replace(microsecond=0) - dt.timedelta(days=1)
    old = ca.issue("old", not_before=end - dt.timedelta(days=30), not_after=end)
    assert _refusal(lambda: load_certificate(old.pem_bundle(), PEM))[:3] == (
        f"The certificate CN=old expired on {end.isoformat()}.",
        "Renew it in Key Vault (a new version) and register the new one on the app.",
        "CertificateExpired",
    )
    with pytest.raises(CertificateError) as info:
        load_certificate(old.pem_bundle(), PEM, now=end)
    assert info.value.code == "CertificateExpired"
    assert load_certificate(old.pem_bundle(), PEM, now=end - dt.timedelta(seconds=1)).subject == "CN=old"


def test_not_yet_valid_exact_text(ca: CertificateAuthority) -> None:
    """A certificate valid from tomorrow names its start; at its start it is valid."""
    start = NOW.replace(microsecond=0) + dt.timedelta(days=1)
    new = ca.issue("new", not_before=start, not_after=start + dt.timedelta(days=30))
    assert _refusal(lambda: load_certificate(new.pem_bundle(), PEM))[:3] == (
        f"The certificate CN=new is not valid before {start.isoformat()}.",
        "Wait until it is valid, or check the host clock.",
        "CertificateNotYetValid",
    )
    assert load_certificate(new.pem_bundle(), PEM, now=start).not_before == start


def test_pfx_secret_that_is_not_base64() -> None:
    """A PFX secret that is not base64 says how PFX certificates are stored."""
    assert _refusal(lambda: load_certificate("not base64 at all!", PKCS12))[:3] == (
        "The certificate's secret is not base64 PFX data.",
        "Store PFX certificates through Key Vault's certificate import, not as a raw secret.",
        "CertificateMalformed",
    )


def test_pfx_that_does_not_parse() -> None:
    """Base64 that is not a PFX (or a password-protected one) is malformed."""
    assert _refusal(lambda: load_certificate(base64.b64encode(b"garbage").decode(), None))[:3] == (
        "The certificate is not a readable PFX (malformed, or protected by a password).",
        "Import the PFX into Key Vault with its password so Key Vault stores it unprotected.",
        "CertificateMalformed",
    )


def test_pfx_without_key_exact_text(issued: IssuedCertificate) -> None:
    """A PFX without its key points at the keyvault-key credential."""
    pfx = pkcs12.serialize_key_and_certificates(
        None, None, issued.certificate, None, serialization.NoEncryption()
    )
    assert _refusal(lambda: load_certificate(pfx, PKCS12))[:3] == (
        "The PFX holds no private key (exported without it, or not exportable in Key Vault).",
        "Use an exportable certificate, or credential 'keyvault-key' for a non-exportable one.",
        "CertificatePrivateKeyMissing",
    )


def test_pfx_without_certificate(issued: IssuedCertificate) -> None:
    """A PFX with a key and no certificate is malformed."""
    pfx = pkcs12.serialize_key_and_certificates(None, issued.key, None, None, serialization.NoEncryption())
    assert _refusal(lambda: load_certificate(pfx, PKCS12))[:3] == (
        "The PFX holds no certificate.",
        "Re-export it with its certificate.",
        "CertificateMalformed",
    )


def test_pem_without_certificate(issued: IssuedCertificate) -> None:
    """A PEM with a key and no certificate is malformed."""
    assert _refusal(lambda: load_certificate(issued.key_pem(), PEM))[:3] == (
        "The PEM holds no readable certificate.",
        "Import the certificate as PEM: the private key, then the certificate and its chain.",
        "CertificateMalformed",
    )


def test_pem_with_an_encrypted_key(issued: IssuedCertificate) -> None:
    """An encrypted PEM key is refused: Key Vault keeps the key protected, the PEM need not."""
    encrypted = issued.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    assert _refusal(lambda: load_certificate(encrypted + issued.cert_pem(), PEM))[:3] == (
        "The PEM's private key is unreadable (malformed or encrypted).",
        "Store the key unencrypted (Key Vault keeps it protected).",
        "CertificateMalformed",
    )


def test_pem_without_key_exact_text(issued: IssuedCertificate) -> None:
    """A PEM with certificates only says the key is missing."""
    assert _refusal(lambda: load_certificate(issued.cert_pem(), PEM))[:3] == (
        "The PEM holds no private key.",
        "Import the certificate with its private key (key first, then the certificate and chain).",
        "CertificatePrivateKeyMissing",
    )


def test_unreadable_public_certificate() -> None:
    """A .cer that is neither DER nor PEM is malformed."""
    assert _refusal(lambda: load_public_certificate(b"\x30\x03garbage"))[:3] == (
        "The certificate is not readable DER or PEM.",
        "Re-create or re-import the certificate in Key Vault.",
        "CertificateMalformed",
    )


def test_public_certificate_validity_is_checked(ca: CertificateAuthority) -> None:
    """An expired .cer is refused like an expired secret."""
    old = ca.issue("old", not_before=NOW - dt.timedelta(days=30), not_after=NOW - dt.timedelta(days=1))
    assert _refusal(lambda: load_public_certificate(old.der))[2] == "CertificateExpired"


def test_public_certificate_from_pem_with_its_facts(issued: IssuedCertificate) -> None:
    """A PEM .cer (leading blank lines allowed) gives subject, validity and the RSA numbers."""
    public = load_public_certificate(b"\n  " + issued.cert_pem())
    numbers = issued.key.public_key().public_numbers()
    assert public.subject == "CN=entra-automation"
    assert (public.not_before, public.not_after) == (
        issued.certificate.not_valid_before_utc,
        issued.certificate.not_valid_after_utc,
    )
    assert public.rsa_public_numbers == (numbers.n, numbers.e)
    assert public.sha256 == issued.sha256_thumbprint


def test_ec_public_certificate_has_no_rsa_numbers(ca: CertificateAuthority) -> None:
    """An EC certificate parses, without RSA numbers (Key Vault keys are RSA for signing)."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = _cert_for(ca, key.public_key()).public_bytes(serialization.Encoding.DER)
    assert load_public_certificate(der).rsa_public_numbers is None


def test_ec_certificate_material_parses(ca: CertificateAuthority) -> None:
    """An EC key with its certificate is accepted as material (found as the leaf by its key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert_for(ca, key.public_key())
    material = load_certificate(ca.pem() + _pem_key(key) + _cert_pem(cert), PEM)
    assert material.chain_pem.startswith(_cert_pem(cert))


def test_material_facts(ca: CertificateAuthority) -> None:
    """Subject, issuer, validity and days left come from the leaf."""
    end = NOW.replace(microsecond=0) + dt.timedelta(days=10, hours=1)
    leaf = ca.issue("facts", not_before=NOW - dt.timedelta(days=1), not_after=end)
    material = load_certificate(base64.b64encode(leaf.pfx()).decode(), "application/x-pkcs12; charset=binary")
    assert (material.subject, material.issuer) == ("CN=facts", ca.certificate.subject.rfc4514_string())
    assert material.not_after == end
    assert material.days_left(NOW) == 10
    assert material.days_left(end - dt.timedelta(days=3)) == 3


@pytest.mark.parametrize("content_type", [None, ""])
def test_without_content_type_pem_and_pfx_are_told_apart(
    issued: IssuedCertificate, content_type: str | None
) -> None:
    """Without a content type, a PEM bundle is read as PEM and base64 as PFX (bytes or text)."""
    assert load_certificate(issued.pem_bundle(), content_type).thumbprint == issued.sha1_thumbprint
    assert load_certificate(issued.pem_bundle().decode(), content_type).thumbprint == issued.sha1_thumbprint
    pfx = base64.b64encode(issued.pfx()).decode()
    assert load_certificate(pfx, content_type).thumbprint == issued.sha1_thumbprint
    assert load_certificate(issued.pfx(), content_type).thumbprint == issued.sha1_thumbprint


def test_content_type_case_and_parameters_are_ignored(issued: IssuedCertificate) -> None:
    """`Application/X-PEM-File; charset=utf-8` is PEM."""
    assert (
        load_certificate(issued.pem_bundle(), " Application/X-PEM-File ; charset=utf-8").subject
        == "CN=entra-automation"
    )


def test_pem_leaf_is_the_one_matching_the_key_not_the_first(
    ca: CertificateAuthority, issued: IssuedCertificate
) -> None:
    """With the CA first, the chain PEM still starts with the leaf and keeps the CA after it."""
    material = load_certificate(ca.pem() + issued.key_pem() + issued.cert_pem(), PEM)
    assert material.chain_pem == issued.cert_pem() + ca.pem()


def test_a_pem_text_with_a_byte_order_mark_is_read(issued: IssuedCertificate) -> None:
    """A PEM saved with a UTF-8 byte order mark (non-ASCII before `-----BEGIN`) is still PEM."""
    text = "\ufeff" + issued.pem_bundle().decode()
    assert load_certificate(text, None).thumbprint == issued.sha1_thumbprint
    assert load_certificate(text, PEM).thumbprint == issued.sha1_thumbprint


def test_parsed_material_cannot_be_changed(issued: IssuedCertificate) -> None:
    """Material is shared between threads once parsed: its fields are read-only."""
    material = load_certificate(issued.pem_bundle(), PEM)
    public = load_public_certificate(issued.der)
    with pytest.raises(dataclasses.FrozenInstanceError):
        material.thumbprint = "0" * 40  # type: ignore[misc]  # the point: it is frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        public.x5t = "x"  # type: ignore[misc]  # the point: it is frozen


def test_without_content_type_pem_is_recognised_in_the_first_64_characters(issued: IssuedCertificate) -> None:
    """Without a content type, `-----BEGIN` must end within the first 64 characters to mean PEM;
    later, the value is taken for base64 PFX and refused as such."""
    early = "\n" * 54 + issued.pem_bundle().decode()
    assert load_certificate(early, None).thumbprint == issued.sha1_thumbprint
    late = "\n" * 55 + issued.pem_bundle().decode()
    assert (
        _refusal(lambda: load_certificate(late, None))[0]
        == "The certificate's secret is not base64 PFX data."
    )
    assert load_certificate(early.encode(), None).thumbprint == issued.sha1_thumbprint
    refused = _refusal(lambda: load_certificate(late.encode(), None))[0]
    assert refused == "The certificate is not a readable PFX (malformed, or protected by a password)."


def test_a_pfx_secret_with_characters_outside_base64_is_refused(issued: IssuedCertificate) -> None:
    """Base64 is read strictly: a stray character inside is refused, not skipped."""
    pfx = base64.b64encode(issued.pfx()).decode()
    damaged = pfx[:40] + "!" + pfx[40:]
    assert (
        _refusal(lambda: load_certificate(damaged, PKCS12))[0]
        == "The certificate's secret is not base64 PFX data."
    )
    assert load_certificate(f"  {pfx}\n", PKCS12).thumbprint == issued.sha1_thumbprint
