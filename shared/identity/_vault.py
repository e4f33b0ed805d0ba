"""Key Vault reads and signing through the azure-keyvault clients, as the managed identity.

Clients are built once per (vault, identity) and kept. azure-core's own retries are off
(`retry_total=0`): we retry here, honouring Retry-After with a cap and the caller's deadline,
so a persistent 429/5xx is reported with its real status. `verify_challenge_resource=False`
only for a vault URL that is not a real vault host (an override such as the devstack);
`connection_verify` is the CA bundle when one is set.

Requests per process: each azure-keyvault package (secrets, certificates, keys) keeps its own
process-wide challenge cache per vault, so its first request is an unauthenticated challenge
(401) and later clients of the same package skip it; sharing clients cannot go below one
challenge per package and vault. Signing builds its CryptographyClient from the certificate's
public key, which spares the key GET CryptographyClient would otherwise make to try local
crypto (a private key never is local here): a keyvault-key connection costs challenge +
GetCertificate, challenge + Sign.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.keyvault.certificates import CertificateClient, KeyVaultCertificate
from azure.keyvault.keys import KeyVaultKey
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, SignatureAlgorithm
from azure.keyvault.secrets import SecretClient

from shared import boundary
from shared.config import ManagedIdentitySettings, get_settings
from shared.errors import AutomationError, KeyVaultError
from shared.http import (
    RETRYABLE_STATUSES,
    connection_verify,
    current_deadline,
    retry_after_seconds,
    wait_for_retry,
)
from shared.identity._issuance import Issuance, await_issued

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class SecretValue:
    """A secret's value (never in repr) and the facts about its version."""

    name: str
    value: str = field(repr=False)
    version: str
    content_type: str | None
    tags: Mapping[str, str] = field(default_factory=dict)  # rotation keeps its state here


@dataclass(frozen=True)
class CertificateInfo:
    """A Key Vault certificate's public part and ids (the key id is versioned)."""

    name: str
    version: str
    cer: bytes  # empty while Key Vault's issuer has not issued this version yet
    key_id: str

    @property
    def pending(self) -> bool:
        return not self.cer


def _certificate_info(name: str, cert: KeyVaultCertificate) -> CertificateInfo:
    """The facts we keep of a certificate Key Vault answered."""
    return CertificateInfo(
        name=name,
        version=(cert.properties.version if cert.properties else None) or "",
        cer=bytes(cert.cer or b""),
        key_id=cert.key_id or "",
    )


class _IdentityCredential:
    """azure-core's TokenCredential over the managed identity's connection (its one token cache).

    azure-core calls `get_token(*scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs)`;
    the vault's challenge names the tenant, but a managed identity only has its own, so
    `tenant_id` is accepted and ignored. Our errors pass through azure-core's pipeline untouched.
    """

    def __init__(self, identity: ManagedIdentitySettings) -> None:
        self._identity = identity

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        from shared.identity._connection import identity_connection

        token = identity_connection(self._identity).token(scopes[0])
        return AccessToken(token.value, token.expires_on)


class Vault:
    """One vault as one managed identity sees it (or, for the certificate bootstrap, as the deployer).

    `credential` (an azure-core TokenCredential) and `who` (its words in messages) replace the
    managed identity: the bootstrap runs on the deployer's machine, signed in as the deployer.
    """

    def __init__(
        self,
        vault_url: str,
        identity: ManagedIdentitySettings,
        *,
        credential: Any = None,
        who: str | None = None,
    ) -> None:
        settings = get_settings()
        self.url = vault_url
        self.identity = identity
        self._who = who or f"the {identity.describe()}"
        credential = credential or _IdentityCredential(identity)
        timing = settings.timing
        self._options: dict[str, Any] = {
            # Only a real vault host may be checked against the challenge's resource.
            "verify_challenge_resource": settings.cloud.is_key_vault_host(vault_url),
            "connection_verify": connection_verify(),
            "retry_total": 0,
            "connection_timeout": timing.connect_timeout_s,
            "read_timeout": timing.read_timeout_s,
        }
        self._credential = credential
        self._secrets = SecretClient(vault_url, credential, **self._options)
        self._certificates = CertificateClient(vault_url, credential, **self._options)
        self._crypto: dict[str, CryptographyClient] = {}
        self._lock = threading.Lock()

    def get_secret(self, name: str, *, setting: str | None = None, version: str | None = None) -> SecretValue:
        def read() -> SecretValue:
            secret = self._secrets.get_secret(name, version)
            return SecretValue(
                name=name,
                value=secret.value or "",
                version=secret.properties.version or "",
                content_type=secret.properties.content_type,
                tags=dict(secret.properties.tags or {}),
            )

        return self._call(read, name, setting)

    def set_secret(
        self,
        name: str,
        value: str,
        *,
        tags: Mapping[str, str],
        content_type: str | None = None,
        setting: str | None = None,
    ) -> SecretValue:
        """A new version of secret `name` (secret rotation); the value is never logged or returned
        in an error (a retry after a lost answer only adds another version with the same value)."""

        def write() -> SecretValue:
            secret = self._secrets.set_secret(name, value, tags=dict(tags), content_type=content_type)
            return SecretValue(
                name=name,
                value=value,
                version=secret.properties.version or "",
                content_type=secret.properties.content_type,
                tags=dict(secret.properties.tags or {}),
            )

        return self._call(write, name, setting)

    def get_certificate(
        self, name: str, *, setting: str | None = None, version: str | None = None
    ) -> CertificateInfo:
        def read() -> CertificateInfo:
            cert = (
                self._certificates.get_certificate_version(name, version)
                if version
                else self._certificates.get_certificate(name)
            )
            return _certificate_info(name, cert)

        return self._call(read, name, setting)

    def certificate_versions(self, name: str, *, setting: str | None = None) -> list[CertificateInfo]:
        """Every version of certificate `name` with its public certificate (rotation looks at all)."""

        def read() -> list[CertificateInfo]:
            versions = self._certificates.list_properties_of_certificate_versions(name)
            found = []
            for p in versions:
                if not p.version or p.enabled is False:
                    continue
                cert = self._certificates.get_certificate_version(name, p.version)
                if not cert.cer:  # not issued yet (its create operation is in progress)
                    continue
                found.append(
                    CertificateInfo(
                        name=name, version=p.version, cer=bytes(cert.cer or b""), key_id=cert.key_id or ""
                    )
                )
            return found

        return self._call(read, name, setting)

    def issued_certificate(self, name: str, *, setting: str | None = None) -> CertificateInfo:
        """The newest version of `name` that Key Vault has issued.

        While a renewal waits on its issuer, Key Vault's latest version is that pending one: disabled,
        with no certificate yet (`cer` empty). Then the newest enabled version with a certificate is
        the current one, by its start date.
        """
        latest = self.get_certificate(name, setting=setting)
        if latest.cer:
            return latest
        from cryptography import x509

        issued = self.certificate_versions(name, setting=setting)
        if not issued:
            return latest  # the first version is still pending: nothing issued yet
        return max(issued, key=lambda info: x509.load_der_x509_certificate(info.cer).not_valid_before_utc)

    def issuance(self, name: str, *, setting: str | None = None) -> Issuance | None:
        """The certificate's last create operation (`/certificates/{name}/pending`), None if none."""

        def read() -> Issuance | None:
            response = self._certificates.send_request(HttpRequest("GET", f"/certificates/{name}/pending"))
            if response.status_code == 404:
                return None
            response.raise_for_status()
            return Issuance.of(response.json(), response.headers.get("Retry-After"))

        return self._call(read, name, setting)

    def has_issuer(self, issuer: str, *, setting: str | None = None) -> bool:
        """Whether the vault has an issuer object named `issuer` (Self and Unknown are built in)."""
        if issuer.lower() in ("self", "unknown"):
            return True

        def read() -> bool:
            response = self._certificates.send_request(HttpRequest("GET", f"/certificates/issuers/{issuer}"))
            if response.status_code == 404:
                return False
            response.raise_for_status()
            return True

        return self._call(read, f"issuers/{issuer}", setting)

    def create_certificate(
        self, name: str, policy: Mapping[str, Any], *, setting: str | None = None, wait_s: float
    ) -> CertificateInfo:
        """A new version of `name` with `policy` (Key Vault's JSON policy), once Key Vault has issued it.

        Raises CertificatePendingError when the issuer has not issued it within `wait_s` seconds
        (the request stays with Key Vault: `await_certificate` picks it up later).
        """

        def create() -> Issuance:
            request = HttpRequest("POST", f"/certificates/{name}/create", json={"policy": dict(policy)})
            response = self._certificates.send_request(request)
            response.raise_for_status()
            return Issuance.of(response.json(), response.headers.get("Retry-After"))

        first = self._call(create, name, setting)
        return self._issued(name, first, setting=setting, wait_s=wait_s)

    def renew_certificate(self, name: str, *, setting: str | None = None, wait_s: float) -> CertificateInfo:
        """A new version of `name` with the policy Key Vault holds (same issuer, subject and key
        properties), once issued; a renewal already in progress is waited on, not asked again."""
        pending = self.issuance(name, setting=setting)
        if pending is not None and pending.in_progress:
            return self._issued(name, pending, setting=setting, wait_s=wait_s)

        def policy() -> dict[str, Any]:
            response = self._certificates.send_request(HttpRequest("GET", f"/certificates/{name}/policy"))
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            body.pop("id", None)  # the policy's own URL is not part of a create request
            return body

        return self.create_certificate(
            name, self._call(policy, name, setting), setting=setting, wait_s=wait_s
        )

    def await_certificate(self, name: str, *, setting: str | None = None, wait_s: float) -> CertificateInfo:
        """The certificate a create operation still in progress issues (waits at most `wait_s`)."""
        pending = self.issuance(name, setting=setting)
        if pending is None:
            return self.issued_certificate(name, setting=setting)
        return self._issued(name, pending, setting=setting, wait_s=wait_s)

    def _issued(self, name: str, first: Issuance, *, setting: str | None, wait_s: float) -> CertificateInfo:
        def poll() -> Issuance:
            found = self.issuance(name, setting=setting)
            if found is None:  # the operation went away: Key Vault no longer knows of a request
                raise KeyVaultError(
                    f"Key Vault {self.url} lost the create operation of certificate {name}.",
                    code="PendingCertificateNotFound",
                    hint="Run again to request a new version.",
                )
            return found

        await_issued(first, poll, name=name, vault_url=self.url, wait_s=wait_s)
        return self.issued_certificate(name, setting=setting)

    def sign_rs256(
        self,
        key_id: str,
        digest: bytes,
        *,
        public_jwk: dict[str, Any] | None = None,
        setting: str | None = None,
    ) -> bytes:
        """Sign a SHA-256 digest with a VERSIONED key id (a versionless one posts to `/keys/{name}//sign`).

        `public_jwk` (the certificate's public key) lets CryptographyClient skip its key GET.
        """
        client = self._crypto.get(key_id)
        if client is None:
            with self._lock:
                client = self._crypto.get(key_id)
                if client is None:
                    key: KeyVaultKey | str = KeyVaultKey(key_id, jwk=public_jwk) if public_jwk else key_id
                    client = self._crypto[key_id] = CryptographyClient(key, self._credential, **self._options)
        name = key_id.rstrip("/").split("/")[-2] if "/keys/" in key_id else key_id
        return self._call(lambda: client.sign(SignatureAlgorithm.rs256, digest).signature, name, setting)

    def decrypt_rsa_oaep(
        self, key_id: str, ciphertext: bytes, *, public_jwk: dict[str, Any] | None = None
    ) -> bytes:
        """RSA-OAEP (SHA-1) decryption by the vault (`keys/decrypt`): the private key never leaves it.

        Used for Graph rich notifications' `dataKey` with a non-exportable certificate. The key
        id must be VERSIONED, as for signing.
        """
        client = self._crypto_client(key_id, public_jwk)
        name = key_id.rstrip("/").split("/")[-2] if "/keys/" in key_id else key_id
        return self._call(
            lambda: client.decrypt(EncryptionAlgorithm.rsa_oaep, ciphertext).plaintext, name, None
        )

    def _crypto_client(self, key_id: str, public_jwk: dict[str, Any] | None) -> CryptographyClient:
        client = self._crypto.get(key_id)
        if client is None:
            with self._lock:
                client = self._crypto.get(key_id)
                if client is None:
                    key: KeyVaultKey | str = KeyVaultKey(key_id, jwk=public_jwk) if public_jwk else key_id
                    client = self._crypto[key_id] = CryptographyClient(key, self._credential, **self._options)
        return client

    def _call(self, operation: Callable[[], T], name: str, setting: str | None) -> T:
        deadline = current_deadline()
        ctx = boundary.Context(
            vault_url=self.url,
            vault_object=name,
            setting=setting,
            identity=self._who,
        )
        attempt = 0
        while True:
            try:
                with boundary.mapped(boundary.STEP_KEY_VAULT, ctx):
                    return operation()
            except AutomationError as exc:
                cause = exc.__cause__
                retry_after = (
                    retry_after_seconds(_header(cause, "Retry-After"))
                    if isinstance(cause, HttpResponseError)
                    else None
                )
                retryable = exc.outage and (exc.status is None or exc.status in RETRYABLE_STATUSES)
                if not retryable or not wait_for_retry(deadline, attempt, retry_after):
                    raise
                log.warning(
                    "Key Vault attempt %d for %s failed (%s); retrying", attempt + 1, name, exc.status
                )
                attempt += 1


_vaults: dict[tuple[str, str], Vault] = {}
_vaults_lock = threading.Lock()


def vault_for(vault_url: str, identity: ManagedIdentitySettings) -> Vault:
    """The long-lived Vault for (vault, identity)."""
    key = (vault_url.rstrip("/").lower(), identity.cache_key)
    found = _vaults.get(key)
    if found is not None:
        return found
    with _vaults_lock:
        if key not in _vaults:
            _vaults[key] = Vault(vault_url, identity)
        return _vaults[key]


def reset_vaults() -> None:
    with _vaults_lock:
        _vaults.clear()


def _header(exc: HttpResponseError, name: str) -> str | None:
    headers = getattr(exc.response, "headers", None) or {}
    value = headers.get(name)
    return str(value) if value is not None else None
