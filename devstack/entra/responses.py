"""HTTP layer of Entra ID: parse the request, call `EntraBackend`, serialize (moto's responses.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.core.problems import ControlBody, ControlError
from devstack.entra.device_code import approve_response_body
from devstack.entra.exceptions import NO_CACHE, AadstsError
from devstack.entra.models import EntraBackend, TokenRequest
from devstack.tenant.tokens import DEFAULT_LIFETIME_S

Handler = Callable[..., Response]
FORM = "application/x-www-form-urlencoded"
MAX_USER_LIFETIME_S = 366 * 86_400  # devstack user tokens: a year either way (negative: already expired)


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
        form = {k: v for k, v in request.form.items()} if request.mimetype == FORM else {}
        return json_response(self.backend.device_flows.start(tenant, form), headers=NO_CACHE)

    def approve_device_code(self, request: Request) -> Response:
        """`POST /_devstack/devicecode` (devstack only): the user signs in for a user code."""
        spec = ControlBody.of(request)  # bad JSON: a problem+json 400 before the flow sees it
        user_code, user = spec.string("userCode", max_length=64), spec.string("user", max_length=256)
        spec.boolean("deny", False)
        if not user_code or not user:
            raise ControlError('Expected {"userCode": "...", "user": "<upn or object id>"}.')
        body, status = approve_response_body(self.backend.device_flows, request.get_data())
        if status >= 400:
            raise ControlError("No such pending user code or user.", status)
        return json_response(body, status)

    def rotate_keys(self, request: Request) -> Response:
        """`POST /_devstack/keys/rotate` (devstack only): sign with a new key, keep the old published."""
        return json_response({"kid": self.backend.tenant.issuer.rotate()})

    def _token(self, request: Request, tenant: str, *, v1: bool) -> Response:
        # Entra reads only a urlencoded form; any other body (JSON, multipart) carries no parameter.
        form = {k: v for k, v in request.form.items()} if request.mimetype == FORM else {}
        # client_secret_basic: the client id and secret may come in an Authorization header.
        if request.authorization and request.authorization.type == "basic":
            form.setdefault("client_id", request.authorization.username or "")
            form.setdefault("client_secret", request.authorization.password or "")
        base_urls = (request.host_url.rstrip("/"),)
        body = self.backend.token(TokenRequest(tenant=tenant, form=form, base_urls=base_urls, v1=v1))
        return json_response(body, headers=NO_CACHE)

    def user_token(self, request: Request, upn: str) -> Response:
        """`POST /_devstack/users/{upn}/token` (devstack only): a user's token without ROPC."""
        spec = ControlBody.of(request)
        audience = spec.string("audience")
        if not audience:
            raise ControlError("'audience' (a string) is required.")
        lifetime_name = "expiresIn" if "expiresIn" in spec.fields else "lifetime"
        limit = MAX_USER_LIFETIME_S
        lifetime = spec.integer(lifetime_name, DEFAULT_LIFETIME_S, low=-limit, high=limit)
        try:
            body = self.backend.user_token(
                upn, audience, spec.string_list("scopes"), lifetime, spec.string("clientId")
            )
        except LookupError:
            raise ControlError("No such user in the tenant.", 404) from None
        return json_response(body)
