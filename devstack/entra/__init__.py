"""Entra ID: OpenID discovery, JWKS and the token endpoint (client credentials with a secret, a
certificate or a federated assertion; on-behalf-of), with Entra's exact AADSTS errors.

Devstack only: `POST /_devstack/users/{upn}/token` issues a user's token (ROPC is not offered);
`POST /_devstack/devicecode` signs a user in for a device code (msal public clients);
`POST /_devstack/keys/rotate` rolls the tenant's signing key over.
"""

from __future__ import annotations

import re

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import Emulator, retry_after_header
from devstack.entra.exceptions import AadstsError, MalformedRequest, PostRequired, TemporarilyUnavailable
from devstack.entra.models import EntraBackend
from devstack.entra.responses import EntraResponses
from devstack.entra.urls import url_paths
from devstack.tenant.models import Tenant

__all__ = ["EntraEmulator", "create_app"]

_USER_TOKEN = re.compile(r"^/_devstack/users/(?P<upn>[^/]+)/token/?$")
_TOKEN_PATH = re.compile(r"^/[^/]+/oauth2/(v2\.0/)?token/?$")


class EntraEmulator(Emulator):
    """login.microsoftonline.com for one offline tenant."""

    name = "entra"

    def __init__(self, tenant: Tenant) -> None:
        super().__init__()
        self.backend = EntraBackend(tenant)
        self.responses = EntraResponses(self.backend)
        for path, operation, handler, methods in url_paths:
            self.route(path, operation, getattr(self.responses, handler), methods)

    def control(self, request: Request) -> Response:
        m = _USER_TOKEN.match(request.path)
        if m and request.method == "POST":
            return self.responses.user_token(request, m["upn"])
        if request.path.rstrip("/") == "/_devstack/devicecode" and request.method == "POST":
            return self.responses.approve_device_code(request)
        if request.path.rstrip("/") == "/_devstack/keys/rotate" and request.method == "POST":
            return self.responses.rotate_keys(request)
        return super().control(request)

    def not_found(self, request: Request) -> Response:
        if _TOKEN_PATH.match(request.path) and request.method != "POST":
            return PostRequired(request.method).to_response()
        return super().not_found(request)

    def http_error(self, status: int, detail: str) -> Response:
        """Unreadable requests: Entra's generic AADSTS9002313 with the server's status."""
        return MalformedRequest(status).to_response()

    def fault_response(self, status: int, retry_after: float | None, request: Request) -> Response:
        # Injected faults look like Entra's own outage answers so msal/azure-identity parse them.
        err: AadstsError = TemporarilyUnavailable(status)
        err.headers = retry_after_header(retry_after)
        return err.to_response()


def create_app(tenant: Tenant) -> Emulator:
    return EntraEmulator(tenant)
