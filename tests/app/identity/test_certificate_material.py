"""Certificate material and client assertions: pure logic, no network."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from devstack.tenant.pki import CertificateAuthority, IssuedCertificate
from shared.errors import CertificateError
from shared.identity._assertion import build_assertion
from shared.identity._certificate_material import PEM, PKCS12, load_certificate, load_public_certificate


def test_pfx_from_key_vault_gives_thumbprints_chain_and_validity(issued: IssuedCertificate) -> None:
    """A base64 PFX secret parses into key, SHA-1/SHA-256 thumbprints, subject and chain."""
    material = load_certificate(base64.b64encode(issued.pfx()).decode(), PKCS12)
    assert material.thumbprint == issued.sha1_thumbprint
    assert material.sha256 == issued.sha256_thumbprint
    assert material.subject == "CN=entra-automation"
    assert material.chain_pem.count(b"BEGIN CERTIFICATE") == 2
    loaded = serialization.load_pem_private_key(material.private_key_pem, password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.public_key().public_numbers() == issued.key.public_key().public_numbers()
    assert material.days_left() >= 364
    assert b"PRIVATE" not in repr(material).encode()


def test_pem_bundle_gives_the_same_material(issued: IssuedCertificate) -> None:
    """A PEM secret (key, leaf, chain) gives the same thumbprint as the PFX."""
    material = load_certificate(issued.pem_bundle().decode(), PEM)
    assert material.thumbprint == issued.sha1_thumbprint
    assert material.chain_pem.startswith(issued.cert_pem())


def test_pem_with_chain_first_still_finds_the_leaf(
    issued: IssuedCertificate, ca: CertificateAuthority
) -> None:
    """The leaf is the certificate matching the key, wherever it sits in the bundle."""
    bundle = ca.pem() + issued.key_pem() + issued.cert_pem()
    assert load_certificate(bundle, PEM).thumbprint == issued.sha1_thumbprint


@pytest.mark.parametrize("value", ["not base64 at all!", base64.b64encode(b"garbage").decode()])
def test_malformed_pfx_is_a_certificate_error(value: str) -> None:
    """Garbage in a PFX secret raises CertificateError, not a cryptography error."""
    with pytest.raises(CertificateError, match="PFX") as info:
        load_certificate(value, PKCS12)
    assert (info.value.step, info.value.code) == ("certificate", "CertificateMalformed")
    assert info.value.hint


def test_pem_without_key_is_a_certificate_error(issued: IssuedCertificate) -> None:
    """A PEM with only certificates (a non-exportable certificate's secret) says the key is missing."""
    with pytest.raises(CertificateError, match="no private key") as info:
        load_certificate(issued.cert_pem().decode(), PEM)
    assert info.value.code == "CertificatePrivateKeyMissing"
    assert "private key" in (info.value.hint or "")


def test_pfx_without_key_is_a_certificate_error(issued: IssuedCertificate) -> None:
    """A PFX exported without its key says so and points at keyvault-key."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    pfx = pkcs12.serialize_key_and_certificates(
        None, None, issued.certificate, None, serialization.NoEncryption()
    )
    with pytest.raises(CertificateError, match="no private key") as info:
        load_certificate(base64.b64encode(pfx).decode(), PKCS12)
    assert "keyvault-key" in (info.value.hint or "")
    assert info.value.code == "CertificatePrivateKeyMissing"


def test_expired_and_not_yet_valid_certificates_are_refused(ca: CertificateAuthority) -> None:
    """Validity is checked at parse time, with a code saying which bound failed."""
    now = dt.datetime.now(dt.UTC)
    expired = ca.issue("old", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1))
    future = ca.issue("new", not_before=now + dt.timedelta(days=1), not_after=now + dt.timedelta(days=30))
    with pytest.raises(CertificateError, match="expired") as info:
        load_certificate(base64.b64encode(expired.pfx()).decode(), PKCS12)
    assert info.value.code == "CertificateExpired"
    with pytest.raises(CertificateError, match="not valid before") as info:
        load_certificate(future.pem_bundle(), PEM)
    assert info.value.code == "CertificateNotYetValid"


def test_unknown_content_type_is_refused(issued: IssuedCertificate) -> None:
    """Only PFX and PEM are Key Vault certificate formats."""
    with pytest.raises(CertificateError, match="Unsupported certificate content type"):
        load_certificate(issued.pem_bundle(), "text/plain")


def test_public_certificate_facts_and_x5t(issued: IssuedCertificate) -> None:
    """A .cer gives the thumbprint and an unpadded base64url x5t."""
    public = load_public_certificate(issued.der)
    digest = hashlib.sha1(issued.der, usedforsecurity=False).digest()
    assert public.thumbprint == issued.sha1_thumbprint
    assert public.x5t == base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_assertion_signed_over_its_digest_verifies_with_the_certificate(issued: IssuedCertificate) -> None:
    """An assertion signed as Key Vault signs (RS256 over SHA-256 of header.payload) is a valid JWT."""
    unsigned = build_assertion(
        client_id="app-id", token_endpoint="https://login/t/oauth2/v2.0/token", x5t="abc", now=1_900_000_000
    )
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    signature = issued.key.sign(unsigned.digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    token = unsigned.assemble(signature).token
    assert "=" not in token
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "x5t": "abc"}
    claims = jwt.decode(
        token,
        issued.key.public_key(),
        algorithms=["RS256"],
        audience="https://login/t/oauth2/v2.0/token",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == "app-id"
    assert claims["exp"] - claims["nbf"] == 600
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")).keys() >= {"jti", "iat"}
