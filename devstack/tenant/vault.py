"""Key Vault's objects: secrets, keys and certificates, each with versions (newest last).

A certificate version is backed by a key and a secret of the same name and version, as in
Key Vault: the private key of an exportable certificate is read through the secret. A create
that waits for an issuer (or a merge) is a `CertificateOperation`; its version exists only
as the pending one until it completes. Certificate issuers are `IssuerObject`s.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from devstack.tenant.pki import CertificateAuthority, IssuedCertificate, utcnow

PKCS12 = "application/x-pkcs12"
PEM = "application/x-pem-file"


def new_version() -> str:
    return uuid.uuid4().hex


@dataclass
class SecretVersion:
    name: str
    version: str
    value: str
    content_type: str | None = None
    enabled: bool = True
    created: dt.datetime = field(default_factory=utcnow)
    not_before: dt.datetime | None = None
    expires: dt.datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    managed: bool = False  # backs a certificate


@dataclass
class KeyVersion:
    name: str
    version: str
    key: rsa.RSAPrivateKey
    exportable: bool = False
    enabled: bool = True
    created: dt.datetime = field(default_factory=utcnow)
    operations: list[str] = field(default_factory=lambda: ["sign", "verify"])
    managed: bool = False


@dataclass
class CertificateVersion:
    name: str
    version: str
    certificate: x509.Certificate
    content_type: str = PKCS12
    exportable: bool = True
    enabled: bool = True
    created: dt.datetime = field(default_factory=utcnow)
    subject: str = ""
    validity_months: int = 12
    tags: dict[str, str] = field(default_factory=dict)
    issuer_name: str = "Self"  # the policy's issuer: a renewal goes through the same one
    key_size: int = 2048


@dataclass
class IssuerObject:
    """A certificate issuer in the vault (`/certificates/issuers/{name}`); the password is never returned."""

    name: str
    provider: str
    account_id: str | None = None
    password: str | None = None
    organization_id: str | None = None
    admin_details: list[dict[str, str]] = field(default_factory=list)
    enabled: bool = True
    created: dt.datetime = field(default_factory=utcnow)
    updated: dt.datetime = field(default_factory=utcnow)


@dataclass
class CertificateOperation:
    """A create's CertificateOperation; while `inProgress`, `version` is the certificate's pending version."""

    name: str
    version: str
    request_id: str
    issuer_name: str
    key: rsa.RSAPrivateKey
    csr: bytes  # DER PKCS#10
    subject: str
    validity_months: int
    content_type: str
    exportable: bool
    key_size: int
    provider: str | None = None  # the issuing provider that will sign it, if the emulator is one
    ready_at: float = 0.0  # time.monotonic() from which the provider issues
    status: str = "inProgress"
    status_details: str | None = None
    error: dict[str, str] | None = None
    cancellation_requested: bool = False
    created: dt.datetime = field(default_factory=utcnow)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def in_progress(self) -> bool:
        return self.status == "inProgress"


# What a certificate read may answer: a version, or the pending one of an operation in progress.
CertificateView = CertificateVersion | CertificateOperation


@dataclass
class VaultStore:
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    keys: dict[str, list[KeyVersion]] = field(default_factory=dict)
    certificates: dict[str, list[CertificateVersion]] = field(default_factory=dict)
    issuers: dict[str, IssuerObject] = field(default_factory=dict)  # by lower-case name
    operations: dict[str, CertificateOperation] = field(default_factory=dict)  # by certificate name
    issuing_cas: dict[str, CertificateAuthority] = field(default_factory=dict)  # by provider
    lock: threading.RLock = field(default_factory=threading.RLock)

    def set_secret(
        self,
        name: str,
        value: str,
        content_type: str | None = None,
        *,
        managed: bool = False,
        version: str | None = None,
    ) -> SecretVersion:
        sv = SecretVersion(
            name=name,
            version=version or new_version(),
            value=value,
            content_type=content_type,
            managed=managed,
        )
        with self.lock:
            self.secrets.setdefault(name, []).append(sv)
        return sv

    def import_certificate(
        self,
        name: str,
        issued: IssuedCertificate,
        *,
        content_type: str = PKCS12,
        exportable: bool = True,
        version: str | None = None,
        issuer_name: str = "Self",
    ) -> CertificateVersion:
        """Add a certificate version, its backing key and secret: one version id for all."""
        version = version or new_version()
        value = secret_value(issued, content_type=content_type, with_key=exportable)
        cv = CertificateVersion(
            name=name,
            version=version,
            certificate=issued.certificate,
            content_type=content_type,
            exportable=exportable,
            subject=issued.certificate.subject.rfc4514_string(),
            issuer_name=issuer_name,
            key_size=issued.key.key_size,
        )
        kv = KeyVersion(name=name, version=version, key=issued.key, exportable=exportable, managed=True)
        with self.lock:
            self.certificates.setdefault(name, []).append(cv)
            self.keys.setdefault(name, []).append(kv)
            # Key Vault keeps the secret of a non-exportable certificate too, but "the private key
            # isn't a part of the value when it's retrieved as a secret" (about-certificates docs):
            # the value then holds only the certificate and its chain.
            self.set_secret(name, value, content_type, managed=True, version=version)
        return cv

    def latest_secret(self, name: str) -> SecretVersion | None:
        versions = self.secrets.get(name)
        return versions[-1] if versions else None

    def latest_certificate(self, name: str) -> CertificateVersion | None:
        versions = self.certificates.get(name)
        return versions[-1] if versions else None

    def latest_key(self, name: str) -> KeyVersion | None:
        versions = self.keys.get(name)
        return versions[-1] if versions else None

    # -- version look-ups (an empty or missing version means the latest) -------------------
    def secret_version(self, name: str, version: str | None = None) -> SecretVersion | None:
        with self.lock:
            return _pick(self.secrets.get(name, []), version)

    def key_version(self, name: str, version: str | None = None) -> KeyVersion | None:
        with self.lock:
            return _pick(self.keys.get(name, []), version)

    def certificate_version(self, name: str, version: str | None = None) -> CertificateVersion | None:
        with self.lock:
            return _pick(self.certificates.get(name, []), version)


class _Versioned(Protocol):
    version: str


_V = TypeVar("_V", bound=_Versioned)


def _pick(versions: list[_V], version: str | None) -> _V | None:
    if not version:
        return versions[-1] if versions else None
    return next((v for v in versions if v.version == version), None)


def secret_value(issued: IssuedCertificate, *, content_type: str, with_key: bool) -> str:
    """The backing secret's value: base64 PFX or PEM text; without the key when not exportable."""
    if with_key:
        if content_type == PKCS12:
            return base64.b64encode(issued.pfx()).decode("ascii")
        return issued.pem_bundle().decode("ascii")
    if content_type == PKCS12:
        pfx = pkcs12.serialize_key_and_certificates(
            None, None, issued.certificate, issued.chain or None, serialization.NoEncryption()
        )
        return base64.b64encode(pfx).decode("ascii")
    certs = [issued.certificate, *issued.chain]
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs).decode("ascii")
