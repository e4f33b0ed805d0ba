"""Key Vault's devstack-only control endpoints (no token): seed secrets, rotate certificates, grant roles."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.keyvault.models import KeyVaultBackend
from devstack.keyvault.rbac import BUILT_IN_ROLES
from devstack.keyvault.serialize import Serializer
from devstack.tenant.pki import utcnow
from devstack.tenant.vault import PEM, PKCS12


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


class Control:
    def __init__(self, backend: KeyVaultBackend, serializer: Serializer) -> None:
        self.backend = backend
        self.out = serializer

    def __call__(self, request: Request) -> Response:
        parts = [unquote(p) for p in request.path.strip("/").split("/")][1:]  # drop "_devstack"
        try:
            body: Any = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _error("body is not JSON")
        if not isinstance(body, dict):
            return _error("body must be a JSON object")
        match parts, request.method:
            case ["secrets", name], "PUT":
                return self.put_secret(name, body)
            case ["certificates", name], "POST":
                return self.post_certificate(name, body)
            case ["roles", object_id], "GET":
                with self.backend.tenant.lock:
                    return json_response(sorted(self.backend.tenant.vault_roles.get(object_id, set())))
            case ["roles", object_id, role], "PUT" | "DELETE":
                return self.change_role(object_id, role, grant=request.method == "PUT")
        return _error("unknown control endpoint", 404)

    def put_secret(self, name: str, body: dict[str, Any]) -> Response:
        if not isinstance(body.get("value"), str):
            return _error("'value' (string) is required")
        sv = self.backend.set_secret(name, body["value"], body.get("contentType"), body.get("tags"))
        return json_response(self.out.secret(sv))

    def post_certificate(self, name: str, body: dict[str, Any]) -> Response:
        tenant = self.backend.tenant
        current = tenant.vault.certificate_version(name)
        subject = str(body.get("subject") or (current.subject if current else f"CN={name}"))
        content_type = str(body.get("contentType") or (current.content_type if current else PKCS12))
        if content_type not in (PKCS12, PEM):
            return _error(f"contentType must be {PKCS12} or {PEM}")
        exportable = bool(body.get("exportable", current.exportable if current else True))
        try:
            not_before, not_after = _validity(body)
        except ValueError as exc:
            return _error(str(exc))
        app = None
        if body.get("registerOnApp"):
            key = str(body["registerOnApp"])
            app = tenant.app(key) or tenant.app_by_name(key)
            if app is None:
                return _error(f"no app registration {key!r}", 404)
        cn = subject.removeprefix("CN=").split(",")[0]
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

    def change_role(self, object_id: str, role: str, *, grant: bool) -> Response:
        if role not in BUILT_IN_ROLES:
            return _error(f"unknown role {role!r}; built-in roles: {', '.join(sorted(BUILT_IN_ROLES))}")
        tenant = self.backend.tenant
        with tenant.lock:
            roles = tenant.vault_roles.setdefault(object_id, set())
            if grant:
                roles.add(role)
            else:
                roles.discard(role)
        return Response(status=204)


def _validity(body: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """notBefore/notAfter (ISO 8601) win; else `expired` / `notYetValid` shift a `validDays` window."""
    now = utcnow()
    days = int(body.get("validDays") or 365)
    if body.get("expired"):
        start, end = now - dt.timedelta(days=days + 1), now - dt.timedelta(days=1)
    elif body.get("notYetValid"):
        start, end = now + dt.timedelta(days=1), now + dt.timedelta(days=days + 1)
    else:
        start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)
    if body.get("notBefore"):
        start = _iso(str(body["notBefore"]))
    if body.get("notAfter"):
        end = _iso(str(body["notAfter"]))
    if end <= start:
        raise ValueError("notAfter must be after notBefore")
    return start, end


def _iso(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
