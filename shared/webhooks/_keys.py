"""The keys rich notifications need: the encryption certificate's private key, and Entra's signing keys.

Encryption certificate (`WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE`, a Key Vault certificate):
subscriptions are created with `encryptionCertificateId` = `{name}/{version}`, so each
notification names the version that encrypted it (rotation keeps old ones readable). An
exportable version's private key is read once through its secret and kept in memory (never
on disk); a non-exportable version has no key in its secret, and `dataKey` is unwrapped by
Key Vault's decrypt operation instead, so the key never leaves the vault.

Signing keys for validation tokens: Entra's JWKS, found by `kid` from the tenant's v1 OpenID
configuration (whose `issuer` is the one the tokens carry, `https://sts.windows.net/{tid}/`
in Azure). Read once, again on an unknown kid at most once a minute, and every 24 hours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from shared.errors import ConfigurationError, KeyVaultError
from shared.webhooks._rich import rsa_oaep_unwrapper

JWKS_REFRESH_S = 24 * 3600
UNKNOWN_KID_INTERVAL_S = 60.0


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
        info = vault.get_certificate(name, version=version)
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


class SigningKeys:
    """Entra's token signing keys by kid, with the tenant issuer template."""

    def __init__(self, fetch: Callable[[str], dict[str, Any]] | None = None) -> None:
        self._fetch = fetch or _get_json
        self._keys: dict[str, Any] = {}
        self._issuer_template: str | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def _metadata_url(self) -> str:
        from shared.config import get_settings

        return f"{get_settings().cloud.authority_host}/common/.well-known/openid-configuration"

    def _refresh(self) -> None:
        import jwt

        config = self._fetch(self._metadata_url())
        jwks = self._fetch(str(config["jwks_uri"]))
        keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and isinstance(jwk.get("kid"), str):
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
        self._keys = keys
        self._issuer_template = str(config.get("issuer") or "")
        self._read_at = time.monotonic()

    def key_for(self, kid: str) -> Any:
        now = time.monotonic()
        if not self._keys or now - self._read_at > JWKS_REFRESH_S:
            with self._lock:
                if not self._keys or now - self._read_at > JWKS_REFRESH_S:
                    self._refresh()
        key = self._keys.get(kid)
        if key is None and now - self._read_at > UNKNOWN_KID_INTERVAL_S:
            with self._lock:
                if now - self._read_at > UNKNOWN_KID_INTERVAL_S:
                    self._refresh()
            key = self._keys.get(kid)
        return key

    def issuer_for(self, tenant_id: str) -> str:
        if self._issuer_template is None:
            with self._lock:
                if self._issuer_template is None:
                    self._refresh()
        return (self._issuer_template or "").replace("{tenantid}", tenant_id)


def _get_json(url: str) -> dict[str, Any]:
    from shared.http import session

    response = session().get(url, timeout=(5, 10))
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return body


_encryption = EncryptionKeys()
_signing = SigningKeys()


def encryption_keys() -> EncryptionKeys:
    return _encryption


def signing_keys() -> SigningKeys:
    return _signing


def reset_keys() -> None:
    """Forget cached keys (tests)."""
    global _encryption, _signing
    _encryption, _signing = EncryptionKeys(), SigningKeys()
