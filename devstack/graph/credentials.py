"""Application credentials as Graph changes them: addKey/removeKey, addPassword/removePassword, and
`keyCredentials` replaced by PATCH. No HTTP here.

addKey and removeKey need a proof of possession (https://learn.microsoft.com/graph/application-rollkey-prooftoken):
a JWT signed (RS256) by one of the application's currently valid certificates, with `aud`
`00000002-0000-0000-c000-000000000000`, `iss` the application's object id, and `nbf`/`exp` at
most 10 minutes apart, valid now. Anything else is 401 Authentication_MissingOrMalformed, as
Graph answers. An application may roll its own keys without any permission; for another
application it needs Application.ReadWrite.OwnedBy (as an owner) or Application.ReadWrite.All.
A signed-in user (delegated Application.ReadWrite.All) may change only the applications they own
(https://learn.microsoft.com/entra/identity/role-based-access-control/delegate-app-roles: owners
manage their apps; directory roles such as Application Administrator are not modelled here ≈).
`POST /applications` makes the signed-in user an owner, as Graph does for delegated callers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography import x509

from devstack.graph.exceptions import (
    AuthenticationMissingOrMalformed,
    AuthorizationRequestDenied,
    RequestBadRequest,
    ResourceNotFound,
    UnknownProperty,
)
from devstack.graph.permissions import granted, is_delegated
from devstack.tenant import models as m
from devstack.tenant.pki import b64url, utcnow

PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"
PROOF_MAX_LIFETIME_S = 600
PASSWORD_DEFAULT_DAYS = 730  # Graph's default end for addPassword: two years ≈
_WRITE_ALL = frozenset({"Application.ReadWrite.All", "Directory.ReadWrite.All"})
_OWNED_BY = "Application.ReadWrite.OwnedBy"


def find_application(tenant: m.Tenant, object_id: str) -> m.AppRegistration:
    for a in tenant.apps:
        if a.object_id.lower() == object_id.lower():
            return a
    raise ResourceNotFound(object_id)


def authorize_write(app: m.AppRegistration, claims: Mapping[str, Any], *, self_allowed: bool = False) -> None:
    """Application.ReadWrite.All (or Directory.ReadWrite.All); OwnedBy for an owner; nothing for itself.

    A user (delegated) needs the scope and to own the application.
    """
    caller_app = str(claims.get("appid") or claims.get("azp") or "").lower()
    if self_allowed and not is_delegated(claims) and caller_app == app.app_id.lower():
        return
    roles = granted(claims)
    if is_delegated(claims):
        owner = str(claims.get("oid", "")).lower() in {o.lower() for o in app.owners}
        if roles & _WRITE_ALL and owner:
            return
        raise AuthorizationRequestDenied()
    if roles & _WRITE_ALL:
        return
    if _OWNED_BY in roles and str(claims.get("oid", "")).lower() in {o.lower() for o in app.owners}:
        return
    raise AuthorizationRequestDenied()


def verify_proof(app: m.AppRegistration, proof: Any, now: dt.datetime) -> None:
    """Check addKey/removeKey's proof JWT against the app's certificates current at `now`."""
    if not isinstance(proof, str) or not proof:
        raise AuthenticationMissingOrMalformed()
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError:
        raise AuthenticationMissingOrMalformed() from None
    current = [
        k
        for k in app.key_credentials
        if k.type == "AsymmetricX509Cert" and k.usage == "Verify" and k.start <= now < k.end
    ]
    wanted = _thumbprint_hint(header)
    candidates = [k for k in current if wanted is None or k.thumbprint == wanted]
    for key in candidates:
        try:
            claims = jwt.decode(
                proof,
                key.certificate.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=PROOF_AUDIENCE,
                issuer=app.object_id,
                options={"require": ["aud", "iss", "nbf", "exp"], "verify_exp": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            continue
        nbf, exp = float(claims["nbf"]), float(claims["exp"])
        # The signer's times are real ones (its clock is not ours to move): compare with real time.
        if exp - nbf <= PROOF_MAX_LIFETIME_S and nbf <= time.time() < exp:
            return
    raise AuthenticationMissingOrMalformed()


def _thumbprint_hint(header: Mapping[str, Any]) -> str | None:
    """The SHA-1 thumbprint (upper hex) the header names by `x5t` or a hex `kid`, if any."""
    x5t = header.get("x5t")
    if isinstance(x5t, str):
        try:
            return base64.urlsafe_b64decode(x5t + "=" * (-len(x5t) % 4)).hex().upper()
        except (binascii.Error, ValueError):
            return ""
    kid = header.get("kid")
    if isinstance(kid, str) and len(kid) == 40:
        return kid.upper()
    return None


def parse_certificate(value: Any) -> x509.Certificate:
    """A keyCredential's `key`: base64 DER (what Graph takes), or a PEM certificate."""
    if not isinstance(value, str) or not value:
        raise RequestBadRequest.invalid_value("key", "KeyCredential")
    try:
        if "BEGIN CERTIFICATE" in value:
            return x509.load_pem_x509_certificate(value.encode())
        return x509.load_der_x509_certificate(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise RequestBadRequest.invalid_value("key", "KeyCredential") from None


def new_key_credential(spec: Any, existing: list[m.KeyCredential]) -> m.KeyCredential:
    if not isinstance(spec, dict):
        raise RequestBadRequest.required("keyCredential")
    if spec.get("type", "AsymmetricX509Cert") != "AsymmetricX509Cert":
        raise RequestBadRequest.invalid_value("type", "KeyCredential")
    if spec.get("usage", "Verify") != "Verify":
        raise RequestBadRequest.invalid_value("usage", "KeyCredential")
    certificate = parse_certificate(spec.get("key"))
    thumbprint = m.sha1_hex(certificate)
    if any(k.thumbprint == thumbprint for k in existing):
        raise RequestBadRequest("A key credential with the same key already exists.")  # ≈
    return m.KeyCredential(
        key_id=str(spec.get("keyId") or m.new_id()),
        display_name=str(spec.get("displayName") or certificate.subject.rfc4514_string()),
        certificate_source=certificate,
        start=certificate.not_valid_before_utc,
        end=certificate.not_valid_after_utc,
    )


class ApplicationCredentials:
    """The four actions and the PATCH of keyCredentials; `on_change(app)` after each change."""

    def __init__(
        self,
        tenant: m.Tenant,
        clock: Callable[[], dt.datetime] = utcnow,
        on_change: Callable[[m.AppRegistration], None] | None = None,
    ) -> None:
        self.tenant = tenant
        self.clock = clock
        self.on_change = on_change or (lambda app: None)

    def create_application(self, body: Mapping[str, Any], claims: Mapping[str, Any]) -> m.AppRegistration:
        """POST /applications: a new single-tenant registration; a signed-in creator becomes its owner."""
        accepted = _WRITE_ALL if is_delegated(claims) else _WRITE_ALL | {_OWNED_BY}
        if not granted(claims) & accepted:
            raise AuthorizationRequestDenied()
        for name in body:
            if name not in {"displayName", "description", "notes", "tags", "keyCredentials"}:
                raise UnknownProperty(name, "microsoft.graph.application")
        display_name = body.get("displayName")
        if not isinstance(display_name, str) or not display_name:
            raise RequestBadRequest.required("displayName")
        creator = str(claims.get("oid", ""))
        app = m.AppRegistration(
            app_id=m.new_id(),
            object_id=m.new_id(),
            sp_object_id=m.new_id(),  # ≈ Graph creates the service principal separately
            display_name=display_name,
            owners=[creator] if creator else [],
        )
        specs = body.get("keyCredentials") or []
        if not isinstance(specs, list):
            raise RequestBadRequest.invalid_value("keyCredentials", "Application")
        for spec in specs:
            app.key_credentials.append(new_key_credential(spec, app.key_credentials))
        with self.tenant.lock:
            self.tenant.apps.append(app)
        self.on_change(app)
        return app

    def add_key(self, object_id: str, body: Mapping[str, Any], claims: Mapping[str, Any]) -> m.KeyCredential:
        app = find_application(self.tenant, object_id)
        authorize_write(app, claims, self_allowed=True)
        verify_proof(app, body.get("proof"), self.clock())
        key = new_key_credential(body.get("keyCredential"), app.key_credentials)
        with self.tenant.lock:
            app.key_credentials.append(key)
        self.on_change(app)
        return key

    def remove_key(self, object_id: str, body: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
        app = find_application(self.tenant, object_id)
        authorize_write(app, claims, self_allowed=True)
        verify_proof(app, body.get("proof"), self.clock())
        key_id = str(body.get("keyId") or "")
        with self.tenant.lock:
            match = next((k for k in app.key_credentials if k.key_id.lower() == key_id.lower()), None)
            if match is None:
                raise ResourceNotFound(key_id)  # ≈
            app.key_credentials.remove(match)
        self.on_change(app)

    def add_password(
        self, object_id: str, body: Mapping[str, Any], claims: Mapping[str, Any]
    ) -> m.PasswordCredential:
        app = find_application(self.tenant, object_id)
        authorize_write(app, claims)
        spec = body.get("passwordCredential") or {}
        if not isinstance(spec, dict):
            raise RequestBadRequest.invalid_value("passwordCredential", "Application")
        now = self.clock().replace(microsecond=0)
        start = _time(spec.get("startDateTime"), "startDateTime") or now
        end = _time(spec.get("endDateTime"), "endDateTime") or start + dt.timedelta(
            days=PASSWORD_DEFAULT_DAYS
        )
        if end <= start:
            raise RequestBadRequest.invalid_value("endDateTime", "PasswordCredential")
        # Entra's secrets: 40 characters, the first three are the hint.
        value = (b64url(secrets.token_bytes(30)).replace("-", "~").replace("_", ".") + "Q~")[:40]
        cred = m.PasswordCredential(
            key_id=m.new_id(),
            display_name=str(spec.get("displayName") or ""),
            secret=value,
            start=start,
            end=end,
        )
        with self.tenant.lock:
            app.password_credentials.append(cred)
        self.on_change(app)
        return cred

    def remove_password(self, object_id: str, body: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
        app = find_application(self.tenant, object_id)
        authorize_write(app, claims)
        key_id = str(body.get("keyId") or "")
        with self.tenant.lock:
            match = next((p for p in app.password_credentials if p.key_id.lower() == key_id.lower()), None)
            if match is None:
                raise ResourceNotFound(key_id)  # ≈
            app.password_credentials.remove(match)
        self.on_change(app)

    def update(self, object_id: str, body: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
        """PATCH /applications/{id}: displayName and keyCredentials (the whole collection)."""
        app = find_application(self.tenant, object_id)
        authorize_write(app, claims)
        allowed = {"displayName", "keyCredentials", "tags", "description", "notes"}
        for name in body:
            if name == "passwordCredentials":
                raise RequestBadRequest(
                    "Updates to passwordCredentials are not supported; use addPassword and removePassword."
                )  # ≈
            if name not in allowed:
                raise UnknownProperty(name, "microsoft.graph.application")
        keys: list[m.KeyCredential] | None = None
        if "keyCredentials" in body:
            specs = body["keyCredentials"]
            if not isinstance(specs, list):
                raise RequestBadRequest.invalid_value("keyCredentials", "Application")
            keys = []
            by_id = {k.key_id.lower(): k for k in app.key_credentials}
            for spec in specs:
                if (
                    isinstance(spec, dict)
                    and not spec.get("key")
                    and str(spec.get("keyId", "")).lower() in by_id
                ):
                    keys.append(by_id[str(spec["keyId"]).lower()])  # kept as it is
                else:
                    keys.append(new_key_credential(spec, keys))
        with self.tenant.lock:
            if "displayName" in body:
                if not isinstance(body["displayName"], str) or not body["displayName"]:
                    raise RequestBadRequest.invalid_value("displayName", "Application")
                app.display_name = body["displayName"]
            if keys is not None:
                app.key_credentials = keys
        self.on_change(app)


def _time(value: Any, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RequestBadRequest.invalid_value(name, "PasswordCredential") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
