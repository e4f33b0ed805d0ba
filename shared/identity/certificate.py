"""An app registration's certificate, read from Key Vault (`Connect-MgGraph -CertificateThumbprint`).

The private key is read through the secret of the certificate's name (base64 PFX or PEM,
with its chain), in memory only, and parsed once per Key Vault version. msal signs the
assertion: thumbprint mode (RS256 + x5t), or subject name / issuer mode (+ x5c, for
auto-rotated certificates) when SEND_CERTIFICATE_CHAIN is true.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from shared.clouds import Cloud
from shared.config import ConnectionFields, ConnectionSettings, get_settings
from shared.errors import ConfigurationError
from shared.identity._app_credential import AppCredential
from shared.identity._certificate_material import CertificateMaterial, load_certificate
from shared.identity._errors import Context
from shared.identity._rotation import VersionedMaterial
from shared.identity._vault import SecretValue, vault_for


class CertificateCredential(AppCredential):
    """Client credentials with a Key Vault certificate (exportable)."""

    kind = "certificate"

    def __init__(self, settings: ConnectionSettings, cloud: Cloud) -> None:
        super().__init__(settings, cloud)
        if not (settings.certificate and settings.key_vault_url):  # shared.config requires both
            raise ConfigurationError(f"Connection '{settings.name}' needs CERTIFICATE and a vault URL.")
        self.certificate_name = settings.certificate
        self._vault = vault_for(settings.key_vault_url, settings.managed_identity)
        setting = settings.setting(ConnectionFields.CERTIFICATE)

        def read() -> tuple[str, SecretValue]:
            secret = self._vault.get_secret(self.certificate_name, setting=setting)
            return secret.version, secret

        self._material = VersionedMaterial(
            read,
            lambda s: load_certificate(s.value, s.content_type),
            get_settings().timing.refresh_interval_s,
        )

    def material(self) -> tuple[str, CertificateMaterial]:
        current = self._material.current()
        return current.version, current.material

    def _version(self) -> str:
        return self._material.current().version

    def _reload(self) -> bool:
        return self._material.reload()

    def _client_credential(self) -> dict[str, Any]:
        material = self._material.current().material
        credential: dict[str, Any] = {
            "private_key": material.private_key_pem.decode("ascii"),
            "thumbprint": material.thumbprint,
        }
        if self.settings.send_certificate_chain:
            credential["public_certificate"] = material.chain_pem.decode("ascii")
        return credential

    def _context(self) -> Context:
        current = self._material.peek()
        thumbprint = current.material.thumbprint if current else None
        return dataclasses.replace(
            super()._context(),
            thumbprint=thumbprint,
            vault_object=self.certificate_name,
            setting=self.settings.setting(ConnectionFields.CERTIFICATE),
        )

    def facts(self) -> dict[str, object]:
        version, material = self.material()
        return {
            "certificate": certificate_facts(
                self.certificate_name, version, material, self.settings.send_certificate_chain
            ),
            "keyVaultUrl": self.settings.key_vault_url,
        }


def certificate_facts(
    name: str, version: str, material: CertificateMaterial, send_chain: bool
) -> dict[str, object]:
    return {
        "name": name,
        "version": version,
        "thumbprintSha1": material.thumbprint,
        "thumbprintSha256": material.sha256,
        "subject": material.subject,
        "notBefore": material.not_before.isoformat(),
        "notAfter": material.not_after.isoformat(),
        "daysLeft": material.days_left(),
        "sendChain": send_chain,
    }
