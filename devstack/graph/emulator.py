"""The Microsoft Graph emulator: routes, token and permission checks, $batch, control endpoints.

Every answer carries `x-ms-resource-unit`; requests are throttled per app + tenant as
`throttling.py` describes (on by default).

Devstack-only control endpoints (besides the common `/_devstack/requests` and `/_devstack/faults`),
documented in `docs/contract.md`:
- `GET /_devstack/throttling` -> the model in force: `{"enabled", "tenantSize",
  "resourceUnitsPer10s", "writesPer150s"}`; `PUT` with any subset of those changes it (null
  `tenantSize` / `resourceUnitsPer10s` goes back to the default), refills every bucket and
  answers the model in force.
- `GET /_devstack/subscriptions` -> every subscription, whichever app created it.
- `POST /_devstack/subscriptions/{id}/notify` with `{"changeType": "updated", "resourceId": "...",
  "lifecycleEvent": null}` -> Graph posts a change notification (or, with `lifecycleEvent` =
  reauthorizationRequired | subscriptionRemoved | missed, a lifecycle notification) to the
  subscriber and answers `{"url", "status", "error", "notification"}` with what it got back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import Emulator, json_response, retry_after_header
from devstack.core.problems import ControlBody, ControlError, problem
from devstack.core.server import default_error_page
from devstack.graph.auth import authenticate
from devstack.graph.batch import run_batch
from devstack.graph.credentials import ApplicationCredentials
from devstack.graph.exceptions import (
    BadRequest,
    GraphError,
    ServiceNotAvailable,
    TooManyRequests,
    request_id,
)
from devstack.graph.models import GraphBackend
from devstack.graph.permissions import authorize, is_delegated
from devstack.graph.responses import Call, GraphResponses, ok
from devstack.graph.subscriptions import SubscriptionStore
from devstack.graph.throttling import Decision, ThrottlingModel, request_cost
from devstack.graph.urls import BATCH_PATH, URLS, VERSIONS
from devstack.tenant.models import Tenant

_NOTIFY = re.compile(r"^/_devstack/subscriptions/([^/]+)/notify/?$")
_DECISION = "devstack.graph.throttle"


def _under_version(path: str) -> str:
    """`/v1.0/users/x` -> `/users/x` (what the cost table is written against)."""
    segments = path.split("/", 2)
    return "/" + segments[2] if len(segments) > 2 and segments[1] in VERSIONS else path


class GraphEmulator(Emulator):
    name = "graph"

    def __init__(self, tenant: Tenant) -> None:
        super().__init__()
        self.tenant = tenant
        self.backend = GraphBackend(tenant)
        self.credentials = ApplicationCredentials(tenant, self.backend.clock)
        self.subscriptions = SubscriptionStore(tenant)
        self.throttling = ThrottlingModel(lambda: len(tenant.users))
        self.responses = GraphResponses(tenant, self.subscriptions, self.backend, self.credentials)
        for version in VERSIONS:
            for path, operation, method, methods in URLS:
                handler = getattr(self.responses, method)
                self.route(f"/{version}{path}", operation, self._guarded(operation, handler), methods)
            self.route(f"/{version}{BATCH_PATH}", "Batch", self._guarded("Batch", self._batch), ["POST"])

    # -- every Graph call -----------------------------------------------------
    def _guarded(self, operation: str, handler: Callable[..., Response]) -> Callable[..., Response]:
        """Check the token and the operation's permissions, then call the handler with a `Call`."""

        def guarded(request: Request, **args: Any) -> Response:
            try:
                claims = authenticate(self.tenant, request)
                if operation != "Batch":  # a batch's items are charged one by one
                    self._throttle(request, claims)
                if operation == "GetMe" and not is_delegated(claims):
                    raise BadRequest.me_needs_delegated()
                authorize(claims, operation)
                return handler(Call(request, claims, request.path.split("/")[1]), **args)
            except GraphError as exc:
                return exc.to_response(request)

        return guarded

    def _throttle(self, request: Request, claims: dict[str, Any]) -> None:
        """Charge the request to its app + tenant bucket; 429 TooManyRequests when it is empty."""
        decision = self.throttling.charge(
            str(claims.get("appid") or claims.get("azp") or ""),
            str(claims.get("tid") or self.tenant.tenant_id),
            request.method,
            _under_version(request.path),
            request.args,
        )
        request.environ[_DECISION] = decision
        if decision.throttled:
            raise TooManyRequests(decision.headers())

    def _batch(self, call: Call) -> Response:
        body = run_batch(call.request, call.version, self.dispatch)
        units = sum(int(r["headers"].get("x-ms-resource-unit", 0)) for r in body["responses"])
        response = ok(body)
        response.headers["x-ms-resource-unit"] = str(units)
        return response

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        if not request.path.startswith("/_devstack/"):
            decision = request.environ.get(_DECISION)
            if isinstance(decision, Decision):
                for name, value in decision.headers().items():
                    response.headers.setdefault(name, value)
            else:  # refused before charging (401, unknown path, injected fault): what it would cost
                cost = request_cost(request.method, _under_version(request.path), request.args)
                response.headers.setdefault("x-ms-resource-unit", str(cost))
            response.headers.setdefault("request-id", request_id(request))
            response.headers.setdefault(
                "client-request-id", request.headers.get("client-request-id") or request_id(request)
            )
        return response

    # -- hooks of the base emulator -------------------------------------------
    def fault_response(self, status: int, retry_after: float | None, request: Request) -> Response:
        headers = retry_after_header(retry_after)
        error: GraphError
        if status == 429:
            error = TooManyRequests(headers)
        elif status == 503:
            error = ServiceNotAvailable(headers)
        else:
            error = GraphError(f"devstack injected fault {status}", headers)
            error.status = status
        return error.to_response(request)

    def http_error(self, status: int, detail: str) -> Response:
        """Unreadable requests in Graph's error shape (`BadRequest` for a 400)."""
        error = BadRequest(detail)
        if status != 400:
            error.status = status
            error.code = default_error_page(status, detail).get_json()["error"]["code"]
        return error.to_response()

    def not_found(self, request: Request) -> Response:
        segments = [s for s in request.path.split("/") if s]
        if not segments or segments[0] not in VERSIONS:
            # Graph's answer to a path outside a version root.
            error: GraphError = BadRequest(f"Invalid version: {segments[0] if segments else ''}")
        else:
            error = BadRequest(f"Resource not found for the segment '{segments[-1]}'.")
        return error.to_response(request)

    def control(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/_devstack/throttling":
            return self._throttling_control(request)
        if request.path.rstrip("/") == "/_devstack/subscriptions" and request.method == "GET":
            return json_response({"value": [s.to_json() for s in self.subscriptions.all()]})
        match = _NOTIFY.match(request.path)
        if match and request.method == "POST":
            spec = ControlBody.of(request)  # bad JSON: a problem+json 400
            try:
                report = self.subscriptions.notify(
                    match.group(1),
                    change_type=spec.string("changeType", max_length=64),
                    resource_id=spec.string("resourceId", max_length=256),
                    lifecycle_event=spec.string("lifecycleEvent", max_length=64),
                )
            except GraphError as exc:  # e.g. no such subscription: the control endpoint's own problem
                raise ControlError(exc.message, exc.status) from None
            return json_response(report.to_json())
        return super().control(request)

    def _throttling_control(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(self.throttling.describe())
        if request.method != "PUT":
            return problem(405, "Use GET or PUT.", {"Allow": "GET, PUT"})
        spec = ControlBody.of(request)
        try:
            return json_response(self.throttling.configure(spec.fields))
        except ValueError as exc:  # configure names the bad field in its own words
            raise ControlError(str(exc)) from None
        except TypeError:
            raise ControlError("tenantSize must be S, M or L") from None
