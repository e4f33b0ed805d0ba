"""The tenant model: identities, app registrations and their credentials, grants, directory.

State and operations only, no HTTP (moto's `models.py`). Every emulator reads and changes
the one `Tenant`; a lock guards changes because the servers are threaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from devstack.tenant.pki import CertificateAuthority, b64url, utcnow
from devstack.tenant.tokens import Principal, TokenIssuer
from devstack.tenant.vault import VaultStore

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
KEY_VAULT_APP_ID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
ARM_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
STORAGE_APP_ID = "e406a681-f3d4-42a8-90b6-c2b029497af1"  # Azure Storage
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# Microsoft Graph Change Tracking: signs nothing itself, but is the `appid` of the
# validationTokens in rich change notifications.
CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"


@dataclass
class ResourceApp:
    """A first-party API a token can be requested for (`resource` or `scope=<uri>/.default`)."""

    app_id: str
    display_name: str
    uris: list[str]  # the first one is the token's `aud`
    app_roles: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    # The version of the access tokens this API gets: first-party APIs keep the devstack's v2
    # shape; the tenant's own APIs follow their `accessTokenAcceptedVersion` (null means 1).
    token_version: str = "2.0"
    first_party: bool = True  # False for the tenant's own APIs (api://<appId>)

    @property
    def audience(self) -> str:
        return self.uris[0]

    def audience_for(self, requested: str) -> str:
        """`aud` of a token for this API: v2 always the app id; v1 the URI or id as requested."""
        if self.first_party:
            return self.audience
        if self.token_version == "2.0":
            return self.app_id
        wanted = requested.removesuffix("/.default").rstrip("/").lower()
        for uri in (*self.uris, self.app_id):
            if uri.rstrip("/").lower() == wanted:
                return uri
        return self.audience


@dataclass
class ManagedIdentity:
    name: str
    kind: str  # "system" | "user"
    client_id: str
    object_id: str
    resource_id: str
    assigned: bool  # assigned to the function app (the identity endpoint serves only these)

    def principal(self) -> Principal:
        return Principal(
            object_id=self.object_id,
            app_id=self.client_id,
            display_name=self.name,
            kind="ManagedIdentity",
            mi_resource_id=self.resource_id,
        )


@dataclass
class KeyCredential:
    """A certificate registered on an app (`keyCredentials`): only the public part.

    `certificate_source` is the certificate, or a function that builds it when first needed (the
    scale seed registers thousands and builds none at start).
    """

    key_id: str
    display_name: str
    certificate_source: x509.Certificate | Callable[[], x509.Certificate]
    start: dt.datetime
    end: dt.datetime
    usage: str = "Verify"
    type: str = "AsymmetricX509Cert"
    _thumbprint: str | None = field(default=None, repr=False, compare=False)

    @property
    def certificate(self) -> x509.Certificate:
        if callable(self.certificate_source):
            self.certificate_source = self.certificate_source()
        return self.certificate_source

    @property
    def thumbprint(self) -> str:
        """Upper-case hex SHA-1 of the certificate's DER (Graph's `customKeyIdentifier`)."""
        if self._thumbprint is None:
            self._thumbprint = sha1_hex(self.certificate)
        return self._thumbprint


@dataclass
class PasswordCredential:
    key_id: str
    display_name: str
    secret: str
    start: dt.datetime
    end: dt.datetime

    @property
    def hint(self) -> str:
        return self.secret[:3]


@dataclass
class FederatedCredential:
    name: str
    issuer: str
    subject: str
    audiences: list[str]


@dataclass
class TrustedSubject:
    """Subject name + issuer trust (`trustedCertificateSubjects`): the assertion carries `x5c`."""

    subject_name: str  # e.g. "CN=entra-automation"
    issuer_name: str  # the issuing CA's subject, e.g. "CN=devstack offline tenant CA"


@dataclass
class AppRegistration:
    app_id: str
    object_id: str
    sp_object_id: str
    display_name: str
    sign_in_audience: str = "AzureADMyOrg"
    key_credentials: list[KeyCredential] = field(default_factory=list)
    password_credentials: list[PasswordCredential] = field(default_factory=list)
    federated_credentials: list[FederatedCredential] = field(default_factory=list)
    trusted_subjects: list[TrustedSubject] = field(default_factory=list)
    identifier_uris: list[str] = field(default_factory=list)
    api_scopes: list[str] = field(default_factory=list)  # delegated scopes this app exposes
    app_roles: list[str] = field(default_factory=list)  # app roles this app's API defines
    access_token_version: int | None = None  # the manifest's accessTokenAcceptedVersion
    public_client: bool = False  # isFallbackPublicClient: may redeem device codes without a secret
    created: dt.datetime = field(default_factory=utcnow)
    owners: list[str] = field(default_factory=list)  # service principal / user object ids

    def principal(self) -> Principal:
        return Principal(
            object_id=self.sp_object_id,
            app_id=self.app_id,
            display_name=self.display_name,
            kind="Application",
        )


@dataclass
class User:
    object_id: str
    user_principal_name: str
    display_name: str
    given_name: str = ""
    surname: str = ""
    job_title: str | None = None
    department: str | None = None
    account_enabled: bool = True
    mail: str | None = None
    # Set by revokeSignInSessions: refresh tokens and session cookies issued before are invalid.
    sign_in_sessions_valid_from: dt.datetime | None = None

    def principal(self) -> Principal:
        return Principal(
            object_id=self.object_id,
            app_id="",
            display_name=self.display_name,
            kind="User",
            upn=self.user_principal_name,
        )


@dataclass
class Group:
    object_id: str
    display_name: str
    mail_nickname: str
    description: str | None = None
    security_enabled: bool = True
    mail_enabled: bool = False
    members: list[str] = field(default_factory=list)  # object ids
    created: dt.datetime = field(default_factory=utcnow)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Tenant:
    """The whole offline tenant. Emulators share it; change it only under `lock`."""

    tenant_id: str
    display_name: str
    default_domain: str
    authority_host: str  # e.g. https://127.0.0.1:PORT (set before seeding; issuer derives from it)
    ca: CertificateAuthority
    issuer: TokenIssuer
    function_app_name: str = ""
    identities: list[ManagedIdentity] = field(default_factory=list)
    apps: list[AppRegistration] = field(default_factory=list)
    resources: list[ResourceApp] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    # principal object id -> resource app id -> app roles granted (appRoleAssignments)
    app_role_grants: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # client app id -> resource app id -> delegated scopes consented for all users
    delegated_grants: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # principal object id -> Key Vault RBAC role names at the vault's scope
    vault_roles: dict[str, set[str]] = field(default_factory=dict)
    vault: VaultStore = field(default_factory=VaultStore)
    lock: threading.RLock = field(default_factory=threading.RLock)
    extra: dict[str, Any] = field(default_factory=dict)

    # -- look-ups -------------------------------------------------------------
    @property
    def issuer_url(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}/v2.0"

    def identity(
        self,
        *,
        client_id: str | None = None,
        object_id: str | None = None,
        resource_id: str | None = None,
        system: bool = False,
    ) -> ManagedIdentity | None:
        for mi in self.identities:
            if system and mi.kind == "system":
                return mi
            if client_id and mi.client_id.lower() == client_id.lower():
                return mi
            if object_id and mi.object_id.lower() == object_id.lower():
                return mi
            if resource_id and mi.resource_id.lower() == resource_id.lower():
                return mi
        return None

    def app(self, app_id: str) -> AppRegistration | None:
        return next((a for a in self.apps if a.app_id.lower() == app_id.lower()), None)

    def app_by_name(self, display_name: str) -> AppRegistration | None:
        return next((a for a in self.apps if a.display_name == display_name), None)

    def resource(self, resource: str) -> ResourceApp | None:
        """Find an API by URI (with or without trailing slash or `/.default`) or app id."""
        wanted = resource.removesuffix("/.default").rstrip("/").lower()
        for r in self.resources:
            if wanted == r.app_id.lower() or wanted in (u.rstrip("/").lower() for u in r.uris):
                return r
        for a in self.apps:  # the tenant's own APIs (api://<appId>)
            if wanted == a.app_id.lower() or wanted in (u.rstrip("/").lower() for u in a.identifier_uris):
                return ResourceApp(
                    app_id=a.app_id,
                    display_name=a.display_name,
                    uris=a.identifier_uris or [f"api://{a.app_id}"],
                    app_roles=a.app_roles,
                    scopes=a.api_scopes,
                    token_version="2.0" if a.access_token_version == 2 else "1.0",
                    first_party=False,
                )
        return None

    def user(self, key: str) -> User | None:
        """A user by object id or UPN (any case); an index keeps this fast at scale.

        The index is rebuilt when the user list's length changes or `directory_changed()` is
        called (what the Graph emulator's writes do).
        """
        k = key.lower()
        cached = self.extra.get("_user_index")
        if cached is None or cached[0] != len(self.users):
            index: dict[str, User] = {}
            for u in self.users:
                index[u.object_id.lower()] = u
                index[u.user_principal_name.lower()] = u
            cached = self.extra["_user_index"] = (len(self.users), index)
        found: User | None = cached[1].get(k)
        return found

    def directory_changed(self) -> None:
        """Forget look-up indexes after users were added, removed or renamed."""
        self.extra.pop("_user_index", None)

    def roles_for(self, principal_object_id: str, resource_app_id: str) -> set[str]:
        return set(self.app_role_grants.get(principal_object_id, {}).get(resource_app_id, set()))

    def grant_roles(self, principal_object_id: str, resource_app_id: str, roles: set[str]) -> None:
        with self.lock:
            self.app_role_grants.setdefault(principal_object_id, {}).setdefault(
                resource_app_id, set()
            ).update(roles)

    def revoke_roles(self, principal_object_id: str, resource_app_id: str, roles: set[str]) -> None:
        with self.lock:
            self.app_role_grants.get(principal_object_id, {}).get(resource_app_id, set()).difference_update(
                roles
            )

    def principal_by_object_id(self, object_id: str) -> Principal | None:
        oid = object_id.lower()
        for mi in self.identities:
            if mi.object_id.lower() == oid:
                return mi.principal()
        for a in self.apps:
            if a.sp_object_id.lower() == oid:
                return a.principal()
        u = self.user(object_id)
        return u.principal() if u else None

    # -- credentials ----------------------------------------------------------
    def add_certificate_credential(
        self, app: AppRegistration, certificate: x509.Certificate, display_name: str | None = None
    ) -> KeyCredential:
        cred = KeyCredential(
            key_id=new_id(),
            display_name=display_name or certificate.subject.rfc4514_string(),
            certificate_source=certificate,
            start=certificate.not_valid_before_utc,
            end=certificate.not_valid_after_utc,
        )
        with self.lock:
            app.key_credentials.append(cred)
        return cred

    def remove_certificate_credential(self, app: AppRegistration, sha1_thumbprint: str) -> bool:
        """Remove the key credential whose certificate has this SHA-1 thumbprint (hex, any case)."""
        with self.lock:
            before = len(app.key_credentials)
            app.key_credentials = [k for k in app.key_credentials if k.thumbprint != sha1_thumbprint.upper()]
            return len(app.key_credentials) != before

    def add_password_credential(
        self, app: AppRegistration, display_name: str, days: int = 365
    ) -> PasswordCredential:
        import secrets

        now = utcnow()
        # Entra secrets are 40 characters with a `~` at a fixed place; the shape matters little here.
        value = secrets.token_urlsafe(30)[:36] + "~" + b64url(secrets.token_bytes(3))
        cred = PasswordCredential(
            key_id=new_id(),
            display_name=display_name,
            secret=value,
            start=now,
            end=now + dt.timedelta(days=days),
        )
        with self.lock:
            app.password_credentials.append(cred)
        return cred


def sha1_hex(cert: x509.Certificate) -> str:
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
