"""The Key Vault certificate policy the bootstrap creates a connection's certificate with.

Per connection, from `CERTIFICATES__<NAME>__<FIELD>` (read by the bootstrap on the deployer's
machine, never by the Function App; docs/contract.md "Certificate bootstrap"):

    SUBJECT          X.509 subject, default `CN=<certificate name>`
    ISSUER           Key Vault issuer name, default `Self` (self-signed); a CA issuer set up in the
                     vault (https://learn.microsoft.com/azure/key-vault/certificates/how-to-integrate-certificate-authority)
    VALIDITY_MONTHS  1-120, default 12
    KEY_SIZE         RSA 2048, 3072 or 4096, default 2048

Exportable follows the connection's kind: a `certificate` connection reads its private key
(exportable), a `keyvault-key` connection only ever asks Key Vault to sign (non-exportable).
The key is RSA; `reuse_key` is off, so each renewal (rotation job) gets a new key pair.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.config import ConnectionSettings, CredentialKind
from shared.errors import ConfigurationError

PREFIX = "CERTIFICATES__"
FIELDS = ("SUBJECT", "ISSUER", "VALIDITY_MONTHS", "KEY_SIZE")
DEFAULT_ISSUER = "Self"
DEFAULT_VALIDITY_MONTHS = 12
MAX_VALIDITY_MONTHS = 120
KEY_SIZES = (2048, 3072, 4096)
_ISSUER = re.compile(r"^[0-9A-Za-z-]{1,127}$")  # Key Vault object names


@dataclass(frozen=True)
class Policy:
    """What Key Vault is asked to create for one connection."""

    certificate: str  # the Key Vault certificate name (CONNECTIONS__<NAME>__CERTIFICATE or __KEY)
    subject: str
    issuer: str
    validity_months: int
    key_size: int
    exportable: bool

    def describe(self) -> str:
        signer = "self-signed" if self.self_signed else f"issuer {self.issuer}"
        export = "exportable" if self.exportable else "non-exportable"
        return f"{self.subject}, {signer}, RSA {self.key_size}, {export}, {self.validity_months} months"

    @property
    def self_signed(self) -> bool:
        return self.issuer.lower() == "self"

    def key_vault_policy(self) -> dict[str, Any]:
        """The policy as Key Vault's create request takes it
        (https://learn.microsoft.com/rest/api/keyvault/certificates/create-certificate/create-certificate):
        RSA, a new key at each renewal, a PFX secret, the key usages a client credential needs."""
        return {
            "key_props": {
                "exportable": self.exportable,
                "kty": "RSA",
                "key_size": self.key_size,
                "reuse_key": False,
            },
            "secret_props": {"contentType": "application/x-pkcs12"},
            "x509_props": {
                "subject": self.subject,
                "validity_months": self.validity_months,
                "key_usage": ["digitalSignature", "keyEncipherment"],
            },
            "issuer": {"name": self.issuer},
        }


def setting_name(connection: str, field: str) -> str:
    return f"{PREFIX}{connection.upper()}__{field}"


def policy_for(conn: ConnectionSettings, environ: Mapping[str, str] | None = None) -> Policy:
    """The policy of a certificate or keyvault-key connection; ConfigurationError names a bad setting."""
    env = {k.upper(): v.strip() for k, v in (os.environ if environ is None else environ).items()}
    certificate = conn.certificate if conn.credential is CredentialKind.CERTIFICATE else conn.key
    if not certificate:  # shared.config requires it for these kinds
        raise ConfigurationError(f"Connection '{conn.name}' names no Key Vault certificate.")

    def value(field: str) -> str | None:
        return env.get(setting_name(conn.name, field)) or None

    subject = value("SUBJECT") or f"CN={certificate}"
    if not re.match(r"^(CN|O|OU|C|L|ST|E)=", subject, re.IGNORECASE):
        raise ConfigurationError(
            f"{setting_name(conn.name, 'SUBJECT')} must be an X.509 subject such as CN=my-app, "
            f"not {subject!r}."
        )
    issuer = value("ISSUER") or DEFAULT_ISSUER
    if not _ISSUER.match(issuer):
        raise ConfigurationError(
            f"{setting_name(conn.name, 'ISSUER')} must name a Key Vault issuer (letters, digits, '-'), "
            "or be Self for a self-signed certificate."
        )
    if issuer.lower() == "unknown":
        raise ConfigurationError(
            f"{setting_name(conn.name, 'ISSUER')} is Unknown (a request to merge by hand): the bootstrap "
            "needs a certificate Key Vault issues by itself; use Self or a configured CA issuer."
        )
    months = _integer(value("VALIDITY_MONTHS"), setting_name(conn.name, "VALIDITY_MONTHS"))
    months = DEFAULT_VALIDITY_MONTHS if months is None else months
    if not 1 <= months <= MAX_VALIDITY_MONTHS:
        raise ConfigurationError(
            f"{setting_name(conn.name, 'VALIDITY_MONTHS')} must be 1 to {MAX_VALIDITY_MONTHS}, not {months}."
        )
    size = _integer(value("KEY_SIZE"), setting_name(conn.name, "KEY_SIZE"))
    size = KEY_SIZES[0] if size is None else size
    if size not in KEY_SIZES:
        raise ConfigurationError(
            f"{setting_name(conn.name, 'KEY_SIZE')} must be one of {', '.join(map(str, KEY_SIZES))} "
            f"(RSA; Entra needs 2048 or more), not {size}."
        )
    return Policy(
        certificate=certificate,
        subject=subject,
        issuer="Self" if issuer.lower() == "self" else issuer,
        validity_months=months,
        key_size=size,
        exportable=conn.credential is CredentialKind.CERTIFICATE,
    )


def _integer(text: str | None, setting: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{setting} must be a whole number, not {text!r}.") from None
