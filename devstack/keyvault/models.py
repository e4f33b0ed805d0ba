"""Key Vault operations over the tenant's `VaultStore`, raising the service's own errors (no HTTP).

Parsing imported material (PFX or PEM) and signing live here; `responses.py` only decodes the
request, calls these, and serializes.
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs12

from devstack.keyvault.exceptions import BadParameter, CertificateNotFound, KeyNotFound, SecretNotFound
from devstack.keyvault.issuers import Issuers
from devstack.keyvault.operations import CreateRequest, Operations
from devstack.tenant.models import Tenant
from devstack.tenant.pki import IssuedCertificate
from devstack.tenant.vault import (
    PEM,
    PKCS12,
    CertificateOperation,
    CertificateVersion,
    CertificateView,
    KeyVersion,
    SecretVersion,
)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_MAX_CN = 64  # X.520's upper bound for a common name
SIGN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
# Key Vault's RSA encryption algorithms: RSA-OAEP is OAEP with SHA-1 (MGF1 SHA-1), as in RFC 7518.
ENCRYPTION_ALGORITHMS = ("RSA-OAEP", "RSA-OAEP-256", "RSA1_5")


class KeyVaultBackend:
    """One vault: the tenant's secrets, keys and certificates."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.store = tenant.vault
        self.issuers = Issuers(tenant)
        self.operations = Operations(tenant, self.issuers)

    # -- secrets ----------------------------------------------------------------------------
    def get_secret(self, name: str, version: str | None = None) -> SecretVersion:
        sv = self.store.secret_version(name, version)
        if sv is None:
            raise SecretNotFound(name if not version else f"{name}/{version}")
        return sv

    def list_secrets(self) -> list[SecretVersion]:
        with self.store.lock:
            return [versions[-1] for _, versions in sorted(self.store.secrets.items()) if versions]

    def list_secret_versions(self, name: str) -> list[SecretVersion]:
        with self.store.lock:
            return list(self.store.secrets.get(name, []))

    def set_secret(
        self, name: str, value: str, content_type: str | None, tags: dict[str, str] | None = None
    ) -> SecretVersion:
        sv = self.store.set_secret(name, value, content_type)
        sv.tags = dict(tags or {})
        return sv

    def is_managed_secret(self, name: str) -> bool:
        """Asked before every secret read: first lets a certificate's issuer complete (its secret appears)."""
        self.operations.advance(name)
        sv = self.store.secret_version(name)
        return bool(sv and sv.managed)

    # -- keys -------------------------------------------------------------------------------
    def get_key(self, name: str, version: str | None = None) -> KeyVersion:
        kv = self.store.key_version(name, version)
        if kv is None:
            raise KeyNotFound(name if version is None else f"{name}/{version}")
        return kv

    def is_managed_key(self, name: str) -> bool:
        self.operations.advance(name)
        kv = self.store.key_version(name)
        return bool(kv and kv.managed)

    def sign(self, name: str, version: str | None, alg: str, digest: bytes) -> tuple[KeyVersion, bytes]:
        """Sign a digest (never the message): Key Vault takes the hash as a prehashed value."""
        kv = self.get_key(name, version)
        if alg not in SIGN_ALGORITHMS:
            raise BadParameter(f"Invalid algorithm: {alg}. Expected one of {', '.join(SIGN_ALGORITHMS)}.")
        hash_type = _HASHES[alg[2:]]
        size = hash_type().digest_size
        if len(digest) != size:
            raise BadParameter(f"Invalid digest length {len(digest)} for algorithm {alg}; expected {size}.")
        chosen = utils.Prehashed(hash_type())
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if alg.startswith("RS")
            else padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=size)
        )
        return kv, kv.key.sign(digest, pad, chosen)

    def decrypt(
        self, name: str, version: str | None, alg: str, ciphertext: bytes
    ) -> tuple[KeyVersion, bytes]:
        """RSA decryption with the vault's private key (`decrypt` and `unwrapKey` are this operation)."""
        kv = self.get_key(name, version)
        if alg not in ENCRYPTION_ALGORITHMS:
            raise BadParameter(
                f"Invalid algorithm: {alg}. Expected one of {', '.join(ENCRYPTION_ALGORITHMS)}."
            )
        pad: padding.AsymmetricPadding
        if alg == "RSA1_5":
            pad = padding.PKCS1v15()
        else:
            hash_type: hashes.HashAlgorithm = hashes.SHA1() if alg == "RSA-OAEP" else hashes.SHA256()  # noqa: S303
            pad = padding.OAEP(mgf=padding.MGF1(hash_type), algorithm=hash_type, label=None)
        try:
            return kv, kv.key.decrypt(ciphertext, pad)
        except ValueError as exc:
            raise BadParameter(
                "The parameter value is invalid: the ciphertext could not be decrypted."
            ) from exc

    # -- certificates -----------------------------------------------------------------------
    # Every certificate read first lets an issuer whose time has come complete its operation.
    def get_certificate(self, name: str, version: str | None = None) -> CertificateView:
        """A version, or the pending one (an operation in progress) when it is the one asked for."""
        op = self.operations.pending(name)
        if op is not None and (not version or version == op.version):
            return op
        cv = self.store.certificate_version(name, version)
        if cv is None:
            raise CertificateNotFound(name)
        return cv

    def get_operation(self, name: str) -> CertificateOperation | CertificateVersion:
        """The certificate's operation; one that never had one (imported) reads as completed."""
        op = self.operations.advance(name)
        if op is not None:
            return op
        cv = self.store.certificate_version(name)
        if cv is None:
            raise CertificateNotFound(name)
        return cv

    def list_certificates(self) -> list[CertificateView]:
        self.operations.advance_all()
        with self.store.lock:
            pending = {n: op for n, op in self.store.operations.items() if op.in_progress}
            latest: dict[str, CertificateView] = {n: v[-1] for n, v in self.store.certificates.items() if v}
            latest |= pending
            return [latest[n] for n in sorted(latest)]

    def list_certificate_versions(self, name: str) -> list[CertificateView]:
        op = self.operations.pending(name)
        with self.store.lock:
            versions: list[CertificateView] = list(self.store.certificates.get(name, []))
        return versions + ([op] if op is not None else [])

    def import_certificate(
        self,
        name: str,
        value: str,
        password: str | None,
        *,
        content_type: str | None,
        exportable: bool,
        tags: dict[str, str] | None = None,
    ) -> CertificateVersion:
        issued = parse_certificate_material(value, password)
        ct = content_type or (PEM if _looks_pem(value) else PKCS12)
        cv = self.store.import_certificate(name, issued, content_type=ct, exportable=exportable)
        cv.tags = dict(tags or {})
        return cv

    def create_certificate(self, name: str, request: CreateRequest) -> CertificateOperation:
        """By the policy's issuer: `Self` at once (self-signed), others as an operation in progress."""
        return self.operations.create(name, request)


def _looks_pem(value: str) -> bool:
    if "-----BEGIN" in value:
        return True
    try:
        return base64.b64decode(value, validate=False).lstrip().startswith(b"-----BEGIN")
    except ValueError:
        return False


def parse_certificate_material(value: str, password: str | None) -> IssuedCertificate:
    """PEM text, base64 of PEM, or base64 PFX -> key, leaf and chain; BadParameter otherwise."""
    key: object
    try:
        raw = value.encode() if "-----BEGIN" in value else base64.b64decode(value)
        if raw.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(raw, password.encode() if password else None)
            certs = x509.load_pem_x509_certificates(raw)
        else:
            key, leaf, extra = pkcs12.load_key_and_certificates(raw, password.encode() if password else None)
            certs = ([leaf] if leaf else []) + list(extra)
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error) as exc:
        # cryptography's and base64's own words ("Incorrect padding", ...) stay out of the body.
        raise BadParameter(
            "The specified PEM X.509 certificate content is in an unexpected format. "
            "Expected a base64 PKCS#12 (PFX) or PEM with an RSA private key and its certificate."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey) or not certs:
        raise BadParameter("The certificate must contain an RSA private key and its X.509 certificate.")
    public = key.public_key().public_numbers()
    leaf_cert = next(
        (
            c
            for c in certs
            if isinstance(pk := c.public_key(), rsa.RSAPublicKey) and pk.public_numbers() == public
        ),
        None,
    )
    if leaf_cert is None:
        raise BadParameter("The private key does not match any certificate in the content.")
    return IssuedCertificate(certificate=leaf_cert, key=key, chain=[c for c in certs if c is not leaf_cert])


def common_name(subject: str) -> str:
    for part in subject.split(","):
        k, _, v = part.strip().partition("=")
        if k.upper() == "CN" and 0 < len(v) <= _MAX_CN:
            return v
    raise BadParameter(f"Invalid subject. Expected 'CN=name' with a name of 1 to {_MAX_CN} characters.")
