"""Key Vault's objects: secrets, keys and certificates, each with versions (newest last).

A certificate version is backed by a key and a secret of the same name and version, as in
Key Vault: the private key of an exportable certificate is read through the secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.tenant.pki import IssuedCertificate, utcnow

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


@dataclass
class VaultStore:
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    keys: dict[str, list[KeyVersion]] = field(default_factory=dict)
    certificates: dict[str, list[CertificateVersion]] = field(default_factory=dict)
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
        self, name: str, issued: IssuedCertificate, *, content_type: str = PKCS12, exportable: bool = True
    ) -> CertificateVersion:
        """Add a certificate version, its backing key and (if exportable) secret: one version id for all."""
        version = new_version()
        if content_type == PKCS12:
            value = base64.b64encode(issued.pfx()).decode("ascii")
        else:
            value = issued.pem_bundle().decode("ascii")
        cv = CertificateVersion(
            name=name,
            version=version,
            certificate=issued.certificate,
            content_type=content_type,
            exportable=exportable,
            subject=issued.certificate.subject.rfc4514_string(),
        )
        kv = KeyVersion(name=name, version=version, key=issued.key, exportable=exportable, managed=True)
        with self.lock:
            self.certificates.setdefault(name, []).append(cv)
            self.keys.setdefault(name, []).append(kv)
            # Key Vault keeps the secret of a non-exportable certificate too, but it holds no
            # private key then; we model that by not creating it (a GET answers 404/403 alike).
            if exportable:
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
