"""What the four app-registration credentials share: msal apps per version, and rotation;
and what the three Key Vault ones share (`VaultCredential`): the object, its versions, the context.

A subclass says how to get its current material (`_material()`), how to turn it into msal's
`client_credential` and which version it is. On an Entra answer that a newer Key Vault
version could fix (AADSTS700027 certificate not registered, 7000215 bad secret, ...), the
material is reloaded and, if the version changed, the token request is retried once.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Generic, TypeVar

from shared import clock
from shared.boundary import Context
from shared.clouds import Cloud
from shared.config import ConnectionSettings, CredentialKind, get_settings
from shared.errors import AuthenticationFailedError, CertificateError, ConfigurationError
from shared.identity._msal import MsalApp, acquire, acquire_on_behalf_of, app_for, build_app, drop_apps
from shared.identity._rotation import VersionedMaterial, is_stale_credential
from shared.identity._token import Token
from shared.identity._vault import Vault, vault_for

log = logging.getLogger(__name__)

# AADSTS700027: the certificate is not registered on the app. Right after a rotation created a
# new Key Vault version and before addKey registered it, the previous version still works.
NOT_REGISTERED = 700027

R = TypeVar("R")
M = TypeVar("M")


class AppCredential:
    """Base of certificate, client-secret, federated-identity and keyvault-key credentials."""

    kind: CredentialKind

    def __init__(self, settings: ConnectionSettings, cloud: Cloud) -> None:
        if not (settings.tenant_id and settings.client_id):  # shared.config requires both
            raise ConfigurationError(f"Connection '{settings.name}' needs TENANT_ID and CLIENT_ID.")
        self.settings = settings
        self.cloud = cloud
        self.tenant_id: str = settings.tenant_id
        self.client_id: str = settings.client_id
        self._prefix = (cloud.authority(self.tenant_id), self.client_id, self.kind, settings.name)

    # -- subclass hooks -------------------------------------------------------------------
    def _version(self) -> str:
        """The current material's version (loads it if needed); "" when nothing rotates."""
        return ""

    def _client_credential(self) -> Any:
        raise NotImplementedError

    def _reload(self) -> bool:
        """Look for a newer version now; True when one was found."""
        return False

    def _fallback(self) -> bool:
        """Use an older version Entra may still accept (the newest is not registered yet)."""
        return False

    def _context(self) -> Context:
        return Context(
            connection=self.settings.name,
            client_id=self.client_id,
            tenant_id=self.tenant_id,
            authority_host=self.cloud.authority_host,
            identity=self.settings.managed_identity.describe(),
            token_exchange_audience=self.cloud.token_exchange_audience,
        )

    def facts_fields(self) -> dict[str, object]:
        """Fields of ConnectionFacts this credential knows without I/O."""
        return {}

    # -- token ------------------------------------------------------------------------------
    def fetch(self, scope: str) -> Token:
        """A token from Entra (under the current deadline); once more after a rotation fix."""
        try:
            return self._acquire(scope)
        except AuthenticationFailedError as exc:
            if not is_stale_credential(exc.aadsts):
                raise
            log.info(
                "Entra said %s for connection %s; looking for a new Key Vault version",
                exc.code,
                self.settings.name,
            )
            if not self._reload() and not (exc.aadsts == NOT_REGISTERED and self._fallback()):
                raise
            return self._acquire(scope)

    def _acquire(self, scope: str) -> Token:
        version = self._version()
        ctx = self._context()
        key = (*self._prefix, version)
        app = app_for(key, lambda: self._build(ctx, key))
        return acquire(app, scope, ctx)

    def on_behalf_of(self, user_token: str, scopes: list[str]) -> Token:
        """A token as the user whose token `user_token` is, from the same msal app (and so the same
        client credential and discovery) as this credential's own tokens; never cached here."""
        version = self._version()
        ctx = self._context()
        key = (*self._prefix, version)
        app = app_for(key, lambda: self._build(ctx, key))
        return acquire_on_behalf_of(app, user_token, scopes, ctx)

    def _build(self, ctx: Context, key: tuple[str, ...]) -> MsalApp:
        drop_apps(self._prefix, keep=key)  # an older version's app is no longer needed
        return build_app(self.cloud, self.tenant_id, self.client_id, self._client_credential(), ctx)


class VaultCredential(AppCredential, Generic[R, M]):
    """An app credential whose material is a Key Vault object (certificate, secret or key).

    Subclasses name the setting (`field`), read the object (`_read` -> version, raw) and parse
    it (`_parse`, once per version); versions, reloads and the error context are shared.
    """

    field = ""  # the ConnectionFields name of the object: CERTIFICATE, SECRET or KEY

    def __init__(
        self, settings: ConnectionSettings, cloud: Cloud, object_name: str | None, vault: Vault | None = None
    ) -> None:
        super().__init__(settings, cloud)
        if not (object_name and settings.key_vault_url):  # shared.config requires both
            raise ConfigurationError(f"Connection '{settings.name}' needs {self.field} and a vault URL.")
        self.object_name: str = object_name
        self.setting_name = settings.setting(self.field)
        # The connection's managed identity reads the vault, unless a caller brings its own
        # client (the certificate bootstrap, on a deployer's machine: docs/identity.md).
        self._vault = vault or vault_for(settings.key_vault_url, settings.managed_identity)
        self._material: VersionedMaterial[R, M] = VersionedMaterial(
            self._read, self._parse, get_settings().timing.refresh_interval_s
        )

    # -- the rotation jobs' face: the object, its vault, the version in use ------------------
    @property
    def vault(self) -> Vault:
        """The Key Vault client this credential reads (and signs) through."""
        return self._vault

    @property
    def version(self) -> str:
        """The Key Vault version whose material is in use now (read on first use)."""
        return self._version()

    def current(self) -> tuple[str, M]:
        """The version in use and its parsed material (never logged: it may hold a secret)."""
        found = self._material.current()
        return found.version, found.material

    def reload(self) -> bool:
        """Read the object from Key Vault now; True when the version in use changed."""
        return self._reload()

    def _read(self) -> tuple[str, R]:
        raise NotImplementedError

    def _parse(self, raw: R) -> M:
        raise NotImplementedError

    def _thumbprint(self, material: M) -> str | None:
        """The certificate thumbprint Entra's errors are about, when there is one."""
        return None

    def _version(self) -> str:
        return self._material.current().version

    def _reload(self) -> bool:
        return self._material.reload()

    def _read_version(self, version: str) -> R:
        raise NotImplementedError

    def _fallback(self) -> bool:
        """Pin the newest other version that is valid now (certificate versions, by start date)."""
        from shared.identity._certificate_material import load_public_certificate

        current = self._material.peek()
        now = clock.now()
        older = []
        for info in self._vault.certificate_versions(self.object_name, setting=self.setting_name):
            if current is not None and info.version == current.version:
                continue
            try:
                cert = load_public_certificate(info.cer, now=now)  # raises unless valid now
            except CertificateError:
                continue
            older.append((cert.not_before, info.version))
        if not older:
            return False
        version = max(older)[1]
        self._material.pin(version, self._read_version(version))
        return True

    def _context(self) -> Context:
        current = self._material.peek()
        return dataclasses.replace(
            super()._context(),
            thumbprint=self._thumbprint(current.material) if current else None,
            vault_object=self.object_name,
            setting=self.setting_name,
        )
