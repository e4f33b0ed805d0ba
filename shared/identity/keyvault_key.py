"""An app registration's certificate whose private key never leaves Key Vault (non-exportable).

We build the client assertion ourselves: header RS256 + x5t of the Key Vault certificate of
the key's name (the one registered on the app), claims for the token endpoint, and Key Vault
signs SHA-256(header.payload) with the certificate's VERSIONED key id. The assertion is
reused for most of its 10-minute life (Entra accepts a reused jti; msal does the same).
"""

from __future__ import annotations

import dataclasses
import threading
import time

from shared import clock
from shared.clouds import Cloud
from shared.config import ConnectionFields, ConnectionSettings, CredentialKind
from shared.errors import KeyVaultError
from shared.identity._app_credential import VaultCredential
from shared.identity._assertion import SignedAssertion, build_assertion
from shared.identity._certificate_material import PublicCertificate, load_public_certificate
from shared.identity._vault import CertificateInfo, Vault
from shared.identity.facts import CertificateFacts

# Sign a new assertion when the current one has less than this left.
ASSERTION_REUSE_MARGIN_S = 120


@dataclasses.dataclass(frozen=True)
class SigningKey:
    certificate: PublicCertificate
    key_id: str  # versioned: https://<vault>/keys/<name>/<version>
    public_jwk: dict[str, object] | None  # the certificate's RSA public key: no key GET to sign


class KeyVaultKeyCredential(VaultCredential[CertificateInfo, SigningKey]):
    """Client credentials with an assertion signed by a Key Vault key."""

    kind = CredentialKind.KEYVAULT_KEY
    field = ConnectionFields.KEY

    def __init__(self, settings: ConnectionSettings, cloud: Cloud, vault: Vault | None = None) -> None:
        super().__init__(settings, cloud, settings.key, vault)
        self.key_name = self.object_name
        self._assertion: SignedAssertion | None = None
        self._assertion_lock = threading.Lock()

    def _read(self) -> tuple[str, CertificateInfo]:
        info = self._vault.issued_certificate(self.object_name, setting=self.setting_name)
        return info.version, info

    def _read_version(self, version: str) -> CertificateInfo:
        return self._vault.get_certificate(self.object_name, setting=self.setting_name, version=version)

    def _fallback(self) -> bool:
        pinned = super()._fallback()
        if pinned:
            self._assertion = None  # signed by the newer key: sign again with the pinned one
        return pinned

    def _parse(self, raw: CertificateInfo) -> SigningKey:
        return _signing_key(raw)

    def _thumbprint(self, material: SigningKey) -> str | None:
        return material.certificate.thumbprint

    def _reload(self) -> bool:
        changed = super()._reload()
        if changed:
            self._assertion = None
        return changed

    def _client_credential(self) -> dict[str, object]:
        return {"client_assertion": self.assertion}

    def assertion(self) -> str:
        """A signed client assertion, reused until it has under two minutes left."""
        current = self._assertion
        if current is not None and current.expires_at - time.time() > ASSERTION_REUSE_MARGIN_S:
            return current.token
        with self._assertion_lock:
            current = self._assertion
            if current is not None and current.expires_at - time.time() > ASSERTION_REUSE_MARGIN_S:
                return current.token
            key = self._material.current().material
            unsigned = build_assertion(
                client_id=self.client_id,
                token_endpoint=self.cloud.token_endpoint(self.tenant_id),
                x5t=key.certificate.x5t,
            )
            signature = self._vault.sign_rs256(
                key.key_id, unsigned.digest, public_jwk=key.public_jwk, setting=self.setting_name
            )
            self._assertion = unsigned.assemble(signature)
            return self._assertion.token

    def facts_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {"key_name": self.key_name}
        current = self._material.peek()
        if current is not None:
            cert = current.material.certificate
            fields["key_id"] = current.material.key_id
            fields["certificate"] = CertificateFacts(
                name=self.key_name,
                key_vault_version=current.version,
                thumbprint_sha1=cert.thumbprint,
                thumbprint_sha256=cert.sha256,
                subject=cert.subject,
                not_before=cert.not_before,
                not_after=cert.not_after,
                days_left=(cert.not_after - clock.now()).days,  # the app's clock (tests move it)
                send_chain=False,
            )
        return fields


def _signing_key(info: CertificateInfo) -> SigningKey:
    if not info.cer or "/keys/" not in info.key_id or info.key_id.rstrip("/").endswith("/keys/" + info.name):
        raise KeyVaultError(
            f"Key Vault certificate '{info.name}' has no public certificate or versioned key id.",
            hint="Create the key as a Key Vault certificate (non-exportable); register its .cer on the app.",
        )
    certificate = load_public_certificate(info.cer)
    return SigningKey(
        certificate=certificate, key_id=info.key_id, public_jwk=_public_jwk(info.key_id, certificate)
    )


def _public_jwk(key_id: str, certificate: PublicCertificate) -> dict[str, object] | None:
    """The certificate's RSA public key as a JWK for its key id (None for another key type)."""
    if certificate.rsa_public_numbers is None:
        return None
    n, e = certificate.rsa_public_numbers
    return {
        "kid": key_id,
        "kty": "RSA",
        "key_ops": ["sign", "verify"],
        "n": n.to_bytes((n.bit_length() + 7) // 8, "big"),
        "e": e.to_bytes((e.bit_length() + 7) // 8, "big"),
    }
