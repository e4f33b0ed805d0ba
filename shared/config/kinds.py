"""The five credential kinds: one enum, used by the settings, the credentials and the context words."""

from __future__ import annotations

from enum import StrEnum


class CredentialKind(StrEnum):
    """How a connection gets its tokens; `.value` is the word of `CONNECTIONS__<NAME>__CREDENTIAL`."""

    MANAGED_IDENTITY = "managed-identity"
    CERTIFICATE = "certificate"
    CLIENT_SECRET = "client-secret"
    FEDERATED_IDENTITY = "federated-identity"
    KEYVAULT_KEY = "keyvault-key"

    @property
    def reads_key_vault(self) -> bool:
        """True for the kinds whose material (certificate, secret, key) lives in Key Vault."""
        return self in (CredentialKind.CERTIFICATE, CredentialKind.CLIENT_SECRET, CredentialKind.KEYVAULT_KEY)


def kind_words() -> str:
    """`managed-identity, certificate, ...` for messages."""
    return ", ".join(k.value for k in CredentialKind)
