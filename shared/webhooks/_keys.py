"""The key rich notifications need to decrypt: the subscription's encryption certificate.

Encryption certificate (`WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE`, a Key Vault certificate):
subscriptions are created with `encryptionCertificateId` = `{name}/{version}`, so each
notification names the version that encrypted it (rotation keeps old ones readable). An
exportable version's private key is read once through its secret and kept in memory (never
on disk); a non-exportable version has no key in its secret, and `dataKey` is unwrapped by
Key Vault's decrypt operation instead, so the key never leaves the vault.

Entra's signing keys for validation tokens are shared/auth's cache (by kid, refreshed daily
and on an unknown kid at most once a minute).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from shared.errors import ConfigurationError, KeyVaultError
from shared.webhooks._rich import rsa_oaep_unwrapper


class EncryptionKeys:
    """Unwrappers per certificate version, built once per process."""

    def __init__(self) -> None:
        self._unwrappers: dict[str, Callable[[bytes], bytes]] = {}
        self._lock = threading.Lock()

    def unwrapper(self, certificate_id: str | None) -> Callable[[bytes], bytes]:
        from shared.webhooks._settings import GRAPH_ENCRYPTION_CERTIFICATE, webhook_settings

        configured = webhook_settings().graph_encryption_certificate
        if not configured:
            raise ConfigurationError(
                f"A rich notification arrived but {GRAPH_ENCRYPTION_CERTIFICATE} is not set; "
                "name the Key Vault certificate its subscription was created with."
            )
        name, _, version = (certificate_id or configured).partition("/")
        if name != configured:
            raise ConfigurationError(
                f"A rich notification names encryption certificate '{name}', "
                f"not the one {GRAPH_ENCRYPTION_CERTIFICATE} names."
            )
        cache_key = f"{name}/{version}"
        found = self._unwrappers.get(cache_key)
        if found is not None:
            return found
        with self._lock:
            if cache_key not in self._unwrappers:
                self._unwrappers[cache_key] = self._build(name, version or None)
            return self._unwrappers[cache_key]

    @staticmethod
    def _build(name: str, version: str | None) -> Callable[[bytes], bytes]:
        from cryptography.hazmat.primitives import serialization

        from shared.config import get_settings
        from shared.identity._certificate_material import load_certificate
        from shared.identity._vault import vault_for

        settings = get_settings()
        if not settings.key_vault_url:
            raise ConfigurationError(
                "KEY_VAULT_URL is not set; the encryption certificate lives in Key Vault."
            )
        vault = vault_for(settings.key_vault_url, settings.managed_identity)
        info = vault.get_certificate(name, version=version) if version else vault.issued_certificate(name)
        secret = vault.get_secret(name, version=info.version)
        try:
            material = load_certificate(secret.value, secret.content_type)
        except KeyVaultError:
            # Non-exportable: the secret holds the chain only. Key Vault decrypts for us.
            key_id = info.key_id

            def remote(data_key: bytes) -> bytes:
                return vault.decrypt_rsa_oaep(key_id, data_key)

            return remote
        key = serialization.load_pem_private_key(material.private_key_pem, None)
        return rsa_oaep_unwrapper(key)


_encryption = EncryptionKeys()


def encryption_keys() -> EncryptionKeys:
    return _encryption


def reset_keys() -> None:
    """Forget cached private keys (tests)."""
    global _encryption
    _encryption = EncryptionKeys()
