"""Key Vault's devstack-only control endpoints (no token): seed secrets, rotate certificates, grant roles,
set an issuer's delay, refusal and Retry-After."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.core.problems import ControlBody, ControlError
from devstack.keyvault.models import KeyVaultBackend
from devstack.keyvault.rbac import BUILT_IN_ROLES
from devstack.keyvault.serialize import Serializer
from devstack.keyvault.validation import MAX_SECRET_BYTES
from devstack.tenant.pki import utcnow
from devstack.tenant.vault import PEM, PKCS12

MAX_COMMON_NAME = 64
MAX_VALID_DAYS = 3650
MAX_ISSUER_SECONDS = 3600
# X.509 writes UTCTime before 2050 and GeneralizedTime after; both need a year of four digits.
MIN_DATE = dt.datetime(1950, 1, 1, tzinfo=dt.UTC)
MAX_DATE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class Control:
    def __init__(self, backend: KeyVaultBackend, serializer: Serializer) -> None:
        self.backend = backend
        self.out = serializer

    def __call__(self, request: Request) -> Response:
        """Dispatch by path and method; a client mistake raises ControlError (problem+json)."""
        parts = [unquote(p) for p in request.path.strip("/").split("/")][1:]  # drop "_devstack"
        body = ControlBody.of(request)
        match parts, request.method:
            case ["secrets", name], "PUT":
                return self.put_secret(name, body)
            case ["certificates", name], "POST":
                return self.post_certificate(name, body)
            case ["issuers", name], "GET":
                return self.issuer_settings(name)
            case ["issuers", name], "POST":
                return self.post_issuer(name, body)
            case ["roles", object_id], "GET":
                with self.backend.tenant.lock:
                    return json_response(sorted(self.backend.tenant.vault_roles.get(object_id, set())))
            case ["roles", object_id, role], "PUT" | "DELETE":
                return self.change_role(object_id, role, grant=request.method == "PUT")
        raise ControlError("No such control endpoint.", 404)

    def put_secret(self, name: str, body: ControlBody) -> Response:
        value = body.string("value", max_length=MAX_SECRET_BYTES)
        if value is None:
            raise ControlError("'value' (a string) is required.")
        content_type = body.string("contentType", max_length=255)
        sv = self.backend.set_secret(name, value, content_type, body.string_map("tags"))
        return json_response(self.out.secret(sv))

    def post_certificate(self, name: str, body: ControlBody) -> Response:
        tenant = self.backend.tenant
        current = tenant.vault.certificate_version(name)
        subject = body.string("subject", max_length=1024) or (current.subject if current else f"CN={name}")
        default_type = current.content_type if current else PKCS12
        content_type = body.string("contentType", default_type, max_length=255)
        if content_type not in (PKCS12, PEM):
            raise ControlError(f"'contentType' must be {PKCS12} or {PEM}.")
        exportable = body.boolean("exportable", current.exportable if current else True)
        not_before, not_after = _validity(body)
        app = None
        key = body.string("registerOnApp", max_length=256)
        if key:
            app = tenant.app(key) or tenant.app_by_name(key)
            if app is None:
                raise ControlError("No app registration with this appId or display name.", 404)
        cn = subject.removeprefix("CN=").split(",")[0]
        if not 0 < len(cn) <= MAX_COMMON_NAME:
            raise ControlError(f"'subject' needs a common name of 1 to {MAX_COMMON_NAME} characters.")
        issued = tenant.ca.issue(cn, not_before=not_before, not_after=not_after)
        cv = tenant.vault.import_certificate(name, issued, content_type=content_type, exportable=exportable)
        cv.subject = subject
        if app is not None:
            tenant.add_certificate_credential(app, issued.certificate, display_name=subject)
        return json_response(
            {
                "certificate": self.out.certificate(cv),
                "sha1Thumbprint": issued.sha1_thumbprint,
                "sha256Thumbprint": issued.sha256_thumbprint,
                "registeredOn": app.app_id if app else None,
            },
            201,
        )

    def post_issuer(self, name: str, body: ControlBody) -> Response:
        """Delay, refusal and Retry-After of one issuer name (Self, Unknown or an issuer object's)."""
        delay = body.number("delaySeconds", low=0, high=MAX_ISSUER_SECONDS)
        retry_after = body.integer("retryAfter", -1, low=0, high=MAX_ISSUER_SECONDS)
        refuse = body.string("refuse", max_length=1024)
        settings = self.backend.issuers.settings_for(name)
        with self.backend.issuers.lock:
            if delay is not None:
                settings.delay_seconds = delay
            if retry_after >= 0:
                settings.retry_after = retry_after
            if refuse is not None:
                settings.refuse = refuse or None
        return self.issuer_settings(name)

    def issuer_settings(self, name: str) -> Response:
        settings = self.backend.issuers.settings_for(name)
        return json_response(
            {
                "name": name,
                "delaySeconds": settings.delay_seconds,
                "refuse": settings.refuse,
                "retryAfter": settings.retry_after,
            }
        )

    def change_role(self, object_id: str, role: str, *, grant: bool) -> Response:
        if role not in BUILT_IN_ROLES:
            raise ControlError(f"Unknown role; built-in roles: {', '.join(sorted(BUILT_IN_ROLES))}.")
        tenant = self.backend.tenant
        with tenant.lock:
            roles = tenant.vault_roles.setdefault(object_id, set())
            if grant:
                roles.add(role)
            else:
                roles.discard(role)
        return Response(status=204)


def _validity(body: ControlBody) -> tuple[dt.datetime, dt.datetime]:
    """notBefore/notAfter (ISO 8601) win; else `expired` / `notYetValid` shift a `validDays` window."""
    now = utcnow()
    days = body.integer("validDays", 365, low=1, high=MAX_VALID_DAYS)
    if body.boolean("expired", False):
        start, end = now - dt.timedelta(days=days + 1), now - dt.timedelta(days=1)
    elif body.boolean("notYetValid", False):
        start, end = now + dt.timedelta(days=1), now + dt.timedelta(days=days + 1)
    else:
        start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)
    start = _iso(body, "notBefore") or start
    end = _iso(body, "notAfter") or end
    if end <= start:
        raise ControlError("'notAfter' must be after 'notBefore'.")
    return start, end


def _iso(body: ControlBody, name: str) -> dt.datetime | None:
    text = body.string(name, max_length=64)
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ControlError(f"'{name}' must be an ISO 8601 date and time.") from None
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not MIN_DATE <= value <= MAX_DATE:
        raise ControlError(f"'{name}' must be between 1950 and 9999.")
    return value
