"""The Microsoft Graph emulator: routes, token and permission checks, $batch, control endpoints.

Every answer carries `x-ms-resource-unit`; requests are throttled per app + tenant as
`throttling.py` describes (on by default).

Devstack-only control endpoints (besides the common `/_devstack/requests` and `/_devstack/faults`),
documented in `docs/contract.md`:
- `GET /_devstack/throttling` -> the model in force: `{"enabled", "tenantSize",
  "resourceUnitsPer10s", "writesPer150s"}`; `PUT` with any subset of those changes it (null
  `tenantSize` / `resourceUnitsPer10s` goes back to the default), refills every bucket and
  answers the model in force.
- `GET /_devstack/subscriptions` -> every subscription, whichever app created it, each with a
  devstack-only `_devstack` member `{"reauthorizationRequired", "reauthorizedDateTime"}`;
  `DELETE` removes them all.
- `GET /_devstack/notifications[?wait=S]` -> `{"settings", "pending", "idle", "deliveries"}`: the
  delivery settings and every delivery attempt (waiting up to S seconds for the queue to drain);
  `PUT` with any of `batchWindowMs`, `timeoutS`, `retryBaseS`, `retryMaxS`, `retryForS`,
  `duplicates`, `tamper` changes the settings; `DELETE` empties the log and the queue.
- `GET /_devstack/clock` -> `{"offsetSeconds", "now"}`; `PUT` `{"offsetSeconds": N}` or
  `{"advanceSeconds": N}` moves the devstack's credential clock (`devstack.tenant.clock`).
- `POST /_devstack/changes` `{"resource": "users"|"groups", "id", "changeType"}` -> 202: a change
  recorded as if written (delta sees it, subscribers are notified).
- `POST /_devstack/subscriptions/{id}/notify` with `{"changeType": "updated", "resourceId": "...",
  "lifecycleEvent": null}` -> Graph posts a change notification (or, with `lifecycleEvent` =
  reauthorizationRequired | subscriptionRemoved | missed, a lifecycle notification) to the
  subscriber and answers `{"url", "status", "error", "notification"}` with what it got back;
  a notification not acknowledged with a 2xx is then redelivered like any batch. A lifecycle
  event joins the lifecycle batch collecting for its URL; the answer reports that batch's first
  POST (`notification` is the whole body, other subscriptions' events due with it included).
- `POST /_devstack/lifecycle` with `{"events": [{"subscriptionId", "lifecycleEvent"}, ...]}` ->
  202 `{"batches": [{"batchId", "url", "subscriptionIds", "items"}]}`: lifecycle events due
  together, delivered as Graph batches them (one POST per lifecycle URL, at most 100 items; log
  and redelivery as for change notifications). An unknown id or event: 400/404, nothing queued.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import Emulator, json_response, retry_after_header
from devstack.core.problems import ControlBody, ControlError, problem
from devstack.core.server import default_error_page
from devstack.graph import representations as rep
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
from devstack.graph.models import Change, GraphBackend
from devstack.graph.permissions import authorize, is_delegated
from devstack.graph.responses import Call, GraphResponses, ok
from devstack.graph.subscriptions import Subscription, SubscriptionStore, graph_time7
from devstack.graph.throttling import Decision, ThrottlingModel, request_cost
from devstack.graph.urls import BATCH_PATH, URLS, VERSIONS
from devstack.tenant import clock
from devstack.tenant.models import Tenant

_NOTIFY = re.compile(r"^/_devstack/subscriptions/([^/]+)/notify/?$")
MAX_LIFECYCLE_EVENTS = 1000
_DECISION = "devstack.graph.throttle"


def _with_bookkeeping(sub: Subscription) -> dict[str, Any]:
    """A subscription as Graph shows it, plus what the devstack remembers about reauthorization."""
    reauthorized = graph_time7(sub.reauthorized_at) if sub.reauthorized_at else None
    return {
        **sub.to_json(),
        "_devstack": {
            "reauthorizationRequired": sub.reauthorization_required,
            "reauthorizedDateTime": reauthorized,
        },
    }


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
        self.backend.listeners.append(lambda change: self.subscriptions.on_change(change, self._render))
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
        if request.path.rstrip("/") == "/_devstack/clock":
            return self._clock_control(request)
        if request.path.rstrip("/") == "/_devstack/notifications":
            return self._notifications_control(request)
        if request.path.rstrip("/") == "/_devstack/changes" and request.method == "POST":
            return self._changes_control(request)
        if request.path.rstrip("/") == "/_devstack/subscriptions" and request.method == "GET":
            return json_response({"value": [_with_bookkeeping(s) for s in self.subscriptions.all()]})
        if request.path.rstrip("/") == "/_devstack/subscriptions" and request.method == "DELETE":
            for sub in self.subscriptions.all():
                self.subscriptions.delete(sub.id)
            return Response(status=204)
        if request.path.rstrip("/") == "/_devstack/lifecycle" and request.method == "POST":
            return self._lifecycle_control(request)
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

    def _lifecycle_control(self, request: Request) -> Response:
        events = ControlBody.of(request).get("events")
        if (
            not isinstance(events, list)
            or not 1 <= len(events) <= MAX_LIFECYCLE_EVENTS
            or not all(
                isinstance(e, dict)
                and set(e) == {"subscriptionId", "lifecycleEvent"}
                and all(isinstance(v, str) and 0 < len(v) <= 256 for v in e.values())
                for e in events
            )
        ):
            raise ControlError(
                f"'events' must be 1 to {MAX_LIFECYCLE_EVENTS} objects "
                '{"subscriptionId": "<id>", "lifecycleEvent": "<event>"}.'
            )
        try:
            batches = self.subscriptions.lifecycle(
                [(e["subscriptionId"], e["lifecycleEvent"]) for e in events]
            )
        except GraphError as exc:
            raise ControlError(exc.message, exc.status) from None
        return json_response(
            {
                "batches": [
                    {
                        "batchId": b.id,
                        "url": b.url,
                        "subscriptionIds": sorted({str(i["subscriptionId"]) for i in b.items}),
                        "items": len(b.items),
                    }
                    for b in batches
                ]
            },
            status=202,
        )

    def _render(self, change: Change) -> dict[str, Any]:
        """The changed object's JSON for rich notifications (only its id once deleted)."""
        if change.resource == "users":
            user = self.tenant.user(change.object_id)
            body = rep.user(user) if user else {"id": change.object_id}
            return {"@odata.type": "#microsoft.graph.user", **body}
        group = next((g for g in self.tenant.groups if g.object_id == change.object_id), None)
        return {
            "@odata.type": "#microsoft.graph.group",
            **(rep.group(group) if group else {"id": change.object_id}),
        }

    def close(self) -> None:
        """Stop the delivery thread and remove the CA file (OfflineTenant.stop calls this)."""
        self.subscriptions.delivery.close()
        self.subscriptions.close()

    def _notifications_control(self, request: Request) -> Response:
        delivery = self.subscriptions.delivery
        if request.method == "GET":
            wait = request.args.get("wait", "")
            idle = delivery.wait_idle(min(float(wait), 60.0)) if wait.replace(".", "", 1).isdigit() else None
            with delivery._cond:
                deliveries = list(delivery.log)
            return json_response(
                {
                    "settings": delivery.settings.to_json(),
                    "pending": delivery.pending(),
                    "idle": idle,
                    "deliveries": deliveries,
                }
            )
        if request.method == "DELETE":
            delivery.clear()
            return Response(status=204)
        if request.method != "PUT":
            return json_response({"error": "use GET, PUT or DELETE"}, 405, {"Allow": "GET, PUT, DELETE"})
        try:
            spec = json.loads(request.get_data() or b"{}")
            if not isinstance(spec, dict):
                raise ValueError("body must be a JSON object")
            delivery.settings.update(spec)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(delivery.settings.to_json())

    def _changes_control(self, request: Request) -> Response:
        """Record a change of a user or group as if it had been written (notifications, delta)."""
        try:
            spec = json.loads(request.get_data() or b"{}")
            if not isinstance(spec, dict):
                raise ValueError("body must be a JSON object")
            resource, object_id = spec.get("resource"), spec.get("id")
            change_type = spec.get("changeType", "updated")
            if resource not in ("users", "groups") or not isinstance(object_id, str) or not object_id:
                raise ValueError("resource must be users or groups, and id an object id")
            if change_type not in ("created", "updated", "deleted"):
                raise ValueError("changeType must be created, updated or deleted")
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        try:
            found = self.backend.user(object_id) if resource == "users" else self.backend.group(object_id)
        except GraphError:
            return json_response({"error": f"no {resource[:-1]} {object_id}"}, 404)
        change = self.backend.record(resource, found.object_id, change_type)
        return json_response({"seq": change.seq, "resource": resource, "id": found.object_id}, 202)

    def _clock_control(self, request: Request) -> Response:
        """GET/PUT the credential clock's offset: `{"offsetSeconds": N}` or `{"advanceSeconds": N}`."""
        if request.method == "PUT":
            try:
                spec = json.loads(request.get_data() or b"{}")
                if (
                    not isinstance(spec, dict)
                    or set(spec) - {"offsetSeconds", "advanceSeconds"}
                    or len(spec) != 1
                ):
                    raise ValueError("give exactly one of offsetSeconds, advanceSeconds")
                ((name, value),) = spec.items()
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{name} must be a number")
                clock.set_offset(value if name == "offsetSeconds" else clock.offset_s() + value)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
        elif request.method != "GET":
            return json_response({"error": "use GET or PUT"}, 405, {"Allow": "GET, PUT"})
        return json_response({"offsetSeconds": clock.offset_s(), "now": clock.now().isoformat()})

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
