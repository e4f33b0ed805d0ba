"""An app registration's certificate, read from Key Vault (`Connect-MgGraph -CertificateThumbprint`).

The private key is read through the secret of the certificate's name (base64 PFX or PEM,
with its chain), in memory only, and parsed once per Key Vault version. msal signs the
assertion: thumbprint mode (RS256 + x5t), or subject name / issuer mode (+ x5c, for
auto-rotated certificates) when SEND_CERTIFICATE_CHAIN is true.
"""

from __future__ import annotations

from typing import Any

from shared import clock
from shared.clouds import Cloud
from shared.config import ConnectionFields, ConnectionSettings, CredentialKind
from shared.identity._app_credential import VaultCredential
from shared.identity._certificate_material import CertificateMaterial, load_certificate
from shared.identity._vault import SecretValue, Vault
from shared.identity.facts import CertificateFacts


class CertificateCredential(VaultCredential[SecretValue, CertificateMaterial]):
    """Client credentials with a Key Vault certificate (exportable)."""

    kind = CredentialKind.CERTIFICATE
    field = ConnectionFields.CERTIFICATE

    def __init__(self, settings: ConnectionSettings, cloud: Cloud, vault: Vault | None = None) -> None:
        super().__init__(settings, cloud, settings.certificate, vault)
        self.certificate_name = self.object_name

    def _read(self) -> tuple[str, SecretValue]:
        secret = self._vault.get_secret(self.object_name, setting=self.setting_name)
        return secret.version, secret

    def _read_version(self, version: str) -> SecretValue:
        return self._vault.get_secret(self.object_name, setting=self.setting_name, version=version)

    def _parse(self, raw: SecretValue) -> CertificateMaterial:
        return load_certificate(raw.value, raw.content_type)

    def _thumbprint(self, material: CertificateMaterial) -> str | None:
        return material.thumbprint

    def _client_credential(self) -> dict[str, Any]:
        material = self._material.current().material
        credential: dict[str, Any] = {
            "private_key": material.private_key_pem.decode("ascii"),
            "thumbprint": material.thumbprint,
        }
        if self.settings.send_certificate_chain:
            credential["public_certificate"] = material.chain_pem.decode("ascii")
        return credential

    def facts_fields(self) -> dict[str, object]:
        current = self._material.peek()
        if current is None:
            return {}
        m = current.material
        return {
            "certificate": CertificateFacts(
                name=self.certificate_name,
                key_vault_version=current.version,
                thumbprint_sha1=m.thumbprint,
                thumbprint_sha256=m.sha256,
                subject=m.subject,
                not_before=m.not_before,
                not_after=m.not_after,
                days_left=m.days_left(clock.now()),  # the app's clock (tests move it)
                send_chain=self.settings.send_certificate_chain,
            )
        }
