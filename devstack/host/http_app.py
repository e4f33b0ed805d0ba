"""The HTTP side of the host: a WSGI app that routes, checks keys and calls HTTP functions.

Requests and responses pass through unchanged (status, headers, body); only the host's own
answers (404, 405, 401, 413, 500) are `application/problem+json`, and an unhandled exception
is logged here, never sent to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import azure.functions as func
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from devstack.host.auth import KEY_HEADER, KEY_QUERY, HostKeys, auth_level_name
from devstack.host.indexing import HTTP_OUTPUT, IndexedFunction
from devstack.host.invocation import Invoker, Result, invocation_trace
from devstack.host.problems import problem
from devstack.host.routes import RouteTable

logger = logging.getLogger(__name__)

# The reason `func start` logs for HTTP-triggered runs.
HTTP_REASON = "This function was programmatically called via the host APIs."
OutputSink = Callable[[IndexedFunction, Result], None]


def _request_headers(request: Request) -> dict[str, str]:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return {name: ", ".join(values) for name, values in headers.items()}


def to_werkzeug_response(value: Any) -> Response:
    """The HTTP answer for what a function returned (HttpResponse, str, bytes or None)."""
    if isinstance(value, func.HttpResponse):
        headers = list(value.headers.items())
        if not any(name.lower() == "content-type" for name, _ in headers):
            # The same rule as the worker's HttpResponseConverter: charset only for text/*.
            mimetype = value.mimetype or "text/plain"
            text = mimetype.startswith("text/")
            content_type = f"{mimetype}; charset={value.charset}" if text else mimetype
            headers.append(("Content-Type", content_type))
        return Response(value.get_body() or b"", status=value.status_code, headers=headers)
    if isinstance(value, str):
        return Response(value, status=200, content_type="text/plain; charset=utf-8")
    if isinstance(value, bytes | bytearray):
        return Response(bytes(value), status=200, content_type="application/octet-stream")
    if value is None:
        return Response(status=204)
    raise TypeError(f"an HTTP function returned {type(value).__name__}; expected func.HttpResponse or str")


class HttpApp:
    """WSGI application serving the app's HTTP functions under the route prefix."""

    def __init__(
        self,
        functions: Iterable[IndexedFunction],
        *,
        route_prefix: str,
        keys: HostKeys,
        invoker: Invoker,
        body_limit: int,
        send_outputs: OutputSink,
    ) -> None:
        self._functions = {f.name: f for f in functions if f.trigger.type == "httpTrigger"}
        self._keys = keys
        self._invoker = invoker
        self._body_limit = body_limit
        self._send_outputs = send_outputs
        table = RouteTable(route_prefix)
        for function in self._functions.values():
            settings = function.trigger.settings
            methods = settings.get("methods")
            table.add(
                function.name,
                str(settings.get("route") or function.name),
                None if not methods else [str(getattr(m, "value", m)) for m in methods],
            )
        self._targets = table.targets
        self._adapter = table.build().bind("localhost")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        request.max_content_length = self._body_limit
        try:
            response = self.handle(request)
        except Exception:
            # A bug of the host itself: same contract as a failing function.
            logger.exception("The host failed on %s %s", request.method, request.path)
            response = problem(500, "The host failed to process the request.")
        return response(environ, start_response)

    def http_error(self, status: int, detail: str) -> Response:
        """The server's answer to a malformed request (400, 408, 413, 414, 431, 505)."""
        return problem(status, detail)

    def _presented_key(self, request: Request) -> str | None:
        return request.headers.get(KEY_HEADER) or request.args.get(KEY_QUERY)

    def _admin(self, request: Request) -> Response:
        if not self._keys.allows("admin", self._presented_key(request)):
            return problem(401, "The admin API needs the master key.")
        if request.path.rstrip("/") == "/admin/host/status" and request.method == "GET":
            body = {"state": "Running", "functions": sorted(self._functions)}
            return Response(json.dumps(body), content_type="application/json")
        return problem(404, "No such admin operation.")

    def handle(self, request: Request) -> Response:
        """Route, authorize, read the body, run the function and map its answer."""
        if request.path == "/admin" or request.path.startswith("/admin/"):
            return self._admin(request)
        try:
            index, route_values = self._adapter.match(request.path, method=request.method)
        except NotFound:
            return problem(404, "No function matches this path.")
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or []))
            return problem(405, f"This route accepts {allowed}.", headers={"Allow": allowed})
        target = self._targets[index]
        function = self._functions[target.endpoint]
        level = auth_level_name(function.trigger.settings.get("authLevel"))
        if not self._keys.allows(level, self._presented_key(request)):
            return problem(401, f"This function needs a {level} key (x-functions-key header or ?code=).")
        if request.content_length is not None and request.content_length > self._body_limit:
            return problem(413, f"The request body exceeds {self._body_limit} bytes.")
        try:
            body = request.get_data()
        except RequestEntityTooLarge:
            return problem(413, f"The request body exceeds {self._body_limit} bytes.")
        route_params = {**target.defaults, **route_values}
        http_request = func.HttpRequest(
            method=request.method,
            url=request.url,
            headers=_request_headers(request),
            params=request.args.to_dict(),
            route_params=route_params,
            body=body,
        )
        try:
            # The host's request span: a child of the caller's traceparent, sent to the worker.
            parent, state = invocation_trace(
                request.headers.get("traceparent"), request.headers.get("tracestate")
            )
            result = self._invoker.invoke(
                function, http_request, reason=HTTP_REASON, trace_parent=parent, trace_state=state
            )
        except Exception:  # noqa: BLE001 - user code may raise anything; the invoker logged it
            # The client learns only the status, never the traceback.
            return problem(500, "The function failed; see the host log.")
        try:
            self._send_outputs(function, result)
            http_output = next((b.name for b in function.outputs if b.type == HTTP_OUTPUT), None)
            return to_werkzeug_response(result.output(http_output) if http_output else None)
        except Exception:
            logger.exception("Function '%s': its output could not be delivered", function.name)
            return problem(500, "The function's output could not be delivered; see the host log.")
