"""HTTP layer of Entra ID: parse the request, call `EntraBackend`, serialize (moto's responses.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.entra.device_code import approve_response_body
from devstack.entra.exceptions import NO_CACHE, AadstsError
from devstack.entra.models import EntraBackend, TokenRequest
from devstack.tenant.tokens import DEFAULT_LIFETIME_S

Handler = Callable[..., Response]


def _correlated(handler: Handler) -> Handler:
    """Errors echo the caller's `client-request-id` as their correlation id, as Entra does."""

    @wraps(handler)
    def wrapper(self: EntraResponses, request: Request, **kwargs: Any) -> Response:
        try:
            return handler(self, request, **kwargs)
        except AadstsError as exc:
            exc.correlation_id = request.headers.get("client-request-id")
            raise

    return wrapper


class EntraResponses:
    def __init__(self, backend: EntraBackend) -> None:
        self.backend = backend

    @_correlated
    def openid_configuration(self, request: Request, tenant: str) -> Response:
        return json_response(self.backend.openid_configuration(tenant))

    @_correlated
    def openid_configuration_v1(self, request: Request, tenant: str) -> Response:
        return json_response(self.backend.openid_configuration(tenant, v1=True))

    @_correlated
    def keys(self, request: Request, tenant: str) -> Response:
        return json_response(self.backend.jwks(tenant))

    @_correlated
    def token(self, request: Request, tenant: str) -> Response:
        return self._token(request, tenant, v1=False)

    @_correlated
    def token_v1(self, request: Request, tenant: str) -> Response:
        return self._token(request, tenant, v1=True)

    @_correlated
    def device_code(self, request: Request, tenant: str) -> Response:
        form = {k: v for k, v in request.form.items()}
        return json_response(self.backend.device_flows.start(tenant, form), headers=NO_CACHE)

    def approve_device_code(self, request: Request) -> Response:
        """`POST /_devstack/devicecode` (devstack only): the user signs in for a user code."""
        body, status = approve_response_body(self.backend.device_flows, request.get_data())
        return json_response(body, status)

    def rotate_keys(self, request: Request) -> Response:
        """`POST /_devstack/keys/rotate` (devstack only): sign with a new key, keep the old published."""
        return json_response({"kid": self.backend.tenant.issuer.rotate()})

    def _token(self, request: Request, tenant: str, *, v1: bool) -> Response:
        form = {k: v for k, v in request.form.items()}
        # client_secret_basic: the client id and secret may come in an Authorization header.
        if request.authorization and request.authorization.type == "basic":
            form.setdefault("client_id", request.authorization.username or "")
            form.setdefault("client_secret", request.authorization.password or "")
        base_urls = (request.host_url.rstrip("/"),)
        body = self.backend.token(TokenRequest(tenant=tenant, form=form, base_urls=base_urls, v1=v1))
        return json_response(body, headers=NO_CACHE)

    def user_token(self, request: Request, upn: str) -> Response:
        """`POST /_devstack/users/{upn}/token` (devstack only): a user's token without ROPC."""
        try:
            spec = json.loads(request.get_data() or b"{}")
            audience = str(spec["audience"])
            scopes = [str(s) for s in spec.get("scopes", [])]
            lifetime = int(spec.get("expiresIn", spec.get("lifetime", DEFAULT_LIFETIME_S)))
            client_id = spec.get("clientId")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return json_response({"error": f"bad request: {exc}"}, 400)
        try:
            body = self.backend.user_token(upn, audience, scopes, lifetime, client_id)
        except LookupError:
            return json_response({"error": f"no such user: {upn}"}, 404)
        return json_response(body)
