"""Certificate material from what Key Vault stores: a pure function, no I/O (azure-identity's
`get_client_credential`). Parsing validates the RSA key (~30 ms), so callers parse once per
Key Vault version and keep the result.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from shared import clock
from shared.errors import CertificateError

PKCS12 = "application/x-pkcs12"
PEM = "application/x-pem-file"

# `CertificateError.code`s, for the context diagnosis and callers that branch on them.
MALFORMED = "CertificateMalformed"
NO_PRIVATE_KEY = "CertificatePrivateKeyMissing"
KEY_MISMATCH = "CertificateKeyMismatch"
UNSUPPORTED = "CertificateUnsupported"
EXPIRED = "CertificateExpired"
NOT_YET_VALID = "CertificateNotYetValid"

_PRIVATE_KEY_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", re.DOTALL
)


@dataclass(frozen=True)
class CertificateMaterial:
    """A parsed certificate: key PEM (never in repr), thumbprints, chain and validity."""

    private_key_pem: bytes = field(repr=False)
    thumbprint: str  # SHA-1 of the DER, upper-case hex (what the portal shows)
    sha256: str  # SHA-256 of the DER, upper-case hex
    chain_pem: bytes  # leaf first, then issuers: msal's `public_certificate` for x5c
    not_before: dt.datetime
    not_after: dt.datetime
    subject: str
    issuer: str

    def days_left(self, now: dt.datetime | None = None) -> int:
        now = now or clock.now()
        return (self.not_after - now).days


@dataclass(frozen=True)
class PublicCertificate:
    """The public part only (a non-exportable certificate's `cer`): enough for x5t and facts."""

    thumbprint: str
    sha256: str
    x5t: str  # base64url SHA-1, no padding
    not_before: dt.datetime
    not_after: dt.datetime
    subject: str
    rsa_public_numbers: tuple[int, int] | None = None  # (n, e) when the key is RSA


def load_certificate(
    value: bytes | str, content_type: str | None, *, now: dt.datetime | None = None
) -> CertificateMaterial:
    """Parse a Key Vault certificate's secret value (base64 PFX or PEM bundle) into material.

    Raises CertificateError for malformed content, a missing private key, or a certificate
    that is expired or not yet valid at `now`.
    """
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == PEM or (not kind and _looks_like_pem(value)):
        key, leaf, extra = _from_pem(value)
    elif kind in (PKCS12, ""):
        key, leaf, extra = _from_pfx(value)
    else:
        raise CertificateError(
            f"Unsupported certificate content type '{content_type}'; expected {PKCS12} or {PEM}.",
            hint="Import the certificate into Key Vault as PFX or PEM.",
            code=UNSUPPORTED,
        )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(
            "The certificate's private key is not RSA or EC; Entra accepts RSA certificates.",
            hint="Create the certificate with an RSA key (2048 bits or more).",
            code=UNSUPPORTED,
        )
    if not _same_key(key, leaf):
        raise CertificateError(
            "The private key does not belong to the certificate.",
            hint="Re-import a matching PFX/PEM.",
            code=KEY_MISMATCH,
        )
    now = now or clock.now()
    _check_validity(leaf, now)
    der = leaf.public_bytes(serialization.Encoding.DER)
    chain = [leaf, *extra]
    return CertificateMaterial(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        sha256=hashlib.sha256(der).hexdigest().upper(),
        chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
    )


def load_public_certificate(der_or_pem: bytes, *, now: dt.datetime | None = None) -> PublicCertificate:
    """The facts of a public certificate (DER or PEM); CertificateError if unreadable or invalid."""
    try:
        cert = (
            x509.load_pem_x509_certificate(der_or_pem)
            if der_or_pem.lstrip().startswith(b"-----BEGIN")
            else x509.load_der_x509_certificate(der_or_pem)
        )
    except ValueError as exc:
        raise CertificateError(
            "The certificate is not readable DER or PEM.",
            hint="Re-create or re-import the certificate in Key Vault.",
            code=MALFORMED,
        ) from exc
    _check_validity(cert, now or clock.now())
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der, usedforsecurity=False).digest()
    public_key = cert.public_key()
    numbers = public_key.public_numbers() if isinstance(public_key, rsa.RSAPublicKey) else None
    return PublicCertificate(
        thumbprint=sha1.hex().upper(),
        sha256=hashlib.sha256(der).hexdigest().upper(),
        x5t=base64.urlsafe_b64encode(sha1).decode("ascii").rstrip("="),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        subject=cert.subject.rfc4514_string(),
        rsa_public_numbers=(numbers.n, numbers.e) if numbers is not None else None,
    )


def _looks_like_pem(value: bytes | str) -> bool:
    head = value[:64] if isinstance(value, bytes) else value[:64].encode("ascii", "ignore")
    return b"-----BEGIN" in head


def _from_pfx(value: bytes | str) -> tuple[object, x509.Certificate, list[x509.Certificate]]:
    raw: bytes
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CertificateError(
                "The certificate's secret is not base64 PFX data.",
                hint="Store PFX certificates through Key Vault's certificate import, not as a raw secret.",
                code=MALFORMED,
            ) from exc
    else:
        raw = value
    try:
        key, leaf, extra = pkcs12.load_key_and_certificates(raw, None)
    except ValueError as exc:
        # Also a password-protected PFX: Key Vault stores them unprotected once imported.
        raise CertificateError(
            "The certificate is not a readable PFX (malformed, or protected by a password).",
            hint="Import the PFX into Key Vault with its password so Key Vault stores it unprotected.",
            code=MALFORMED,
        ) from exc
    if key is None:
        raise CertificateError(
            "The PFX holds no private key (exported without it, or not exportable in Key Vault).",
            hint="Use an exportable certificate, or credential 'keyvault-key' for a non-exportable one.",
            code=NO_PRIVATE_KEY,
        )
    if leaf is None:
        raise CertificateError(
            "The PFX holds no certificate.", hint="Re-export it with its certificate.", code=MALFORMED
        )
    return key, leaf, list(extra)


def _from_pem(value: bytes | str) -> tuple[object, x509.Certificate, list[x509.Certificate]]:
    data = value.encode("ascii", "ignore") if isinstance(value, str) else value
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertificateError(
            "The PEM holds no readable certificate.",
            hint="Import the certificate as PEM: the private key, then the certificate and its chain.",
            code=MALFORMED,
        ) from exc
    key = None
    block = _PRIVATE_KEY_BLOCK.search(data)
    if block is not None:
        try:
            key = serialization.load_pem_private_key(block.group(0), password=None)
        except (ValueError, TypeError) as exc:
            raise CertificateError(
                "The PEM's private key is unreadable (malformed or encrypted).",
                hint="Store the key unencrypted (Key Vault keeps it protected).",
                code=MALFORMED,
            ) from exc
    if key is None:
        raise CertificateError(
            "The PEM holds no private key.",
            hint="Import the certificate with its private key (key first, then the certificate and chain).",
            code=NO_PRIVATE_KEY,
        )
    leaf = _leaf_for(key, certs)
    return key, leaf, [c for c in certs if c is not leaf]


def _same_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki))


def _leaf_for(key: object, certs: list[x509.Certificate]) -> x509.Certificate:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        wanted = key.public_key().public_numbers()
        for cert in certs:
            pub = cert.public_key()
            if (
                isinstance(pub, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
                and pub.public_numbers() == wanted
            ):
                return cert
    return certs[0]


def _check_validity(cert: x509.Certificate, now: dt.datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise CertificateError(
            f"The certificate {cert.subject.rfc4514_string()} is not valid before "
            f"{cert.not_valid_before_utc.isoformat()}.",
            hint="Wait until it is valid, or check the host clock.",
            code=NOT_YET_VALID,
        )
    if now >= cert.not_valid_after_utc:
        raise CertificateError(
            f"The certificate {cert.subject.rfc4514_string()} expired on "
            f"{cert.not_valid_after_utc.isoformat()}.",
            hint="Renew it in Key Vault (a new version) and register the new one on the app.",
            code=EXPIRED,
        )
