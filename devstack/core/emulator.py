"""The base of every emulator: routing, request counting, fault injection, JSON helpers.

Control endpoints (docs/contract.md), under each emulator's base URL:
- `GET /_devstack/requests` -> `{"total": N, "byOperation": {...}}`; `DELETE` resets.
- `POST /_devstack/faults` `{"match", "status", "times", "retryAfter", "delayMs"}`; `DELETE` clears.
  `retryAfter` is seconds (decimals allowed) or an HTTP-date string, sent verbatim as `Retry-After`.
A fault with no `status` (or 0) only delays the matching requests, then serves them.
Control endpoints answer their client mistakes as `application/problem+json` (400/404/405).
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.core.problems import ControlBody, ControlError, problem
from devstack.core.server import default_error_page

log = logging.getLogger(__name__)

MAX_FAULT_TIMES = 1_000_000
MAX_RETRY_AFTER_S = 86_400
MAX_DELAY_MS = 60_000

Handler = Callable[..., Response]


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type=content_type)


class ServiceError(Exception):
    """An error in the emulated service's own words; `to_response()` renders its exact body."""

    status = 400

    def to_response(self) -> Response:  # pragma: no cover - every service overrides
        return json_response({"error": {"code": type(self).__name__, "message": str(self)}}, self.status)


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float | None
    delay_ms: int
    body: Any = None
    retry_after_text: str | None = None  # an HTTP-date Retry-After, sent as given


class Emulator:
    """A WSGI application: subclasses add `Rule(path, endpoint=<operation name>)` and handlers.

    The operation name (the rule's endpoint) is what `byOperation` counts, e.g. "GetSecret".
    """

    name = "emulator"

    def __init__(self) -> None:
        self.url_map = Map(strict_slashes=False, merge_slashes=False)
        self.handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._faults: list[Fault] = []

    # -- routing --------------------------------------------------------------
    def route(self, path: str, operation: str, handler: Handler, methods: Iterable[str]) -> None:
        self.url_map.add(Rule(path, endpoint=operation, methods=list(methods)))
        self.handlers[operation] = handler

    # -- hooks for subclasses -------------------------------------------------
    def fault_response(self, status: int, retry_after: float | None, request: Request) -> Response:
        """The body an injected fault gets; services override to speak their own error format."""
        headers = {"Retry-After": _fmt_retry(retry_after)} if retry_after is not None else {}
        return json_response(
            {"error": {"code": "InjectedFault", "message": f"devstack fault {status}"}}, status, headers
        )

    def not_found(self, request: Request) -> Response:
        """No operation for this method and path, in the service's error shape."""
        return self.http_error(404, "No route for this path.")

    def http_error(self, status: int, detail: str) -> Response:
        """A malformed request (the server's 400/408/413/414/431/505) in this service's error shape."""
        return default_error_page(status, detail)

    # -- WSGI -----------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_devstack/"):
            return self._control(request)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            operation, args = adapter.match()
        except (NotFound, MethodNotAllowed):
            operation, args = None, {}
        except HTTPException as exc:  # e.g. RequestRedirect; never followed by SDKs
            return exc.get_response(request.environ)
        with self._lock:
            self._counts[str(operation or "Unmatched")] += 1
            fault = self._take_fault(request.path)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000)
            if fault.status:
                response = self.fault_response(fault.status, fault.retry_after, request)
                if fault.retry_after_text is not None:
                    response.headers["Retry-After"] = fault.retry_after_text
                return response
        if operation is None:
            return self.not_found(request)
        try:
            return self.handlers[str(operation)](request, **args)
        except ServiceError as exc:
            return exc.to_response()
        except HTTPException as exc:  # werkzeug's own refusals (e.g. too many form parts)
            return self.http_error(exc.code or 400, "The request could not be read.")
        except Exception:
            log.exception("%s: unhandled error in %s", self.name, operation)
            return json_response(
                {"error": {"code": "InternalError", "message": "devstack emulator bug"}}, 500
            )

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.pattern.search(path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- control endpoints ----------------------------------------------------
    def _control(self, request: Request) -> Response:
        try:
            return self._control_unchecked(request)
        except ControlError as exc:
            return exc.to_response()
        except HTTPException as exc:
            return problem(exc.code or 400, "The request could not be read.")

    def _control_unchecked(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/_devstack/requests":
            if request.method == "GET":
                with self._lock:
                    return json_response(
                        {"total": sum(self._counts.values()), "byOperation": dict(self._counts)}
                    )
            if request.method == "DELETE":
                with self._lock:
                    self._counts.clear()
                return Response(status=204)
            return problem(405, "This control endpoint accepts GET and DELETE.")
        if request.path.rstrip("/") == "/_devstack/faults":
            if request.method == "POST":
                return self._add_fault(request)
            if request.method == "DELETE":
                with self._lock:
                    self._faults.clear()
                return Response(status=204)
            if request.method == "GET":
                with self._lock:
                    return json_response(
                        [
                            {"match": f.pattern.pattern, "status": f.status, "times": f.times}
                            for f in self._faults
                        ]
                    )
            return problem(405, "This control endpoint accepts GET, POST and DELETE.")
        return self.control(request)

    def control(self, request: Request) -> Response:
        """Emulator-specific control endpoints (Key Vault's secret seeding); 404 by default.

        Raise `ControlError` for a client mistake: it is answered as problem+json.
        """
        return problem(404, "No such control endpoint.")

    def _add_fault(self, request: Request) -> Response:
        spec = ControlBody.of(request)
        match = spec.string("match", ".*", max_length=1024) or ".*"
        try:
            pattern = re.compile(match)
        except re.error as exc:
            raise ControlError("'match' must be a regular expression.") from exc
        retry_after, retry_after_text = _retry_after(spec)
        fault = Fault(
            pattern=pattern,
            status=spec.integer("status", 0, low=0, high=599),
            times=spec.integer("times", 1, low=1, high=MAX_FAULT_TIMES),
            retry_after=retry_after,
            delay_ms=spec.integer("delayMs", 0, low=0, high=MAX_DELAY_MS),
            retry_after_text=retry_after_text,
        )
        if fault.status and fault.status < 100:
            raise ControlError("'status' must be 0 (delay only) or an HTTP status from 100 to 599.")
        with self._lock:
            self._faults.append(fault)
        return json_response(
            {"match": fault.pattern.pattern, "status": fault.status, "times": fault.times}, 201
        )

    # -- for in-process tests -------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def _retry_after(spec: ControlBody) -> tuple[float | None, str | None]:
    """Seconds as a number, or an HTTP-date kept as text (services send both forms)."""
    value = spec.get("retryAfter")
    if isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            pass
        else:
            if 0 <= seconds <= MAX_RETRY_AFTER_S:
                return seconds, None
            raise ControlError(f"'retryAfter' must be from 0 to {MAX_RETRY_AFTER_S:g} seconds.")
        try:
            email.utils.parsedate_to_datetime(value)
        except (ValueError, TypeError) as exc:
            raise ControlError("'retryAfter' must be seconds or an HTTP-date.") from exc
        return None, value
    return spec.number("retryAfter", low=0, high=MAX_RETRY_AFTER_S), None


def _fmt_retry(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def retry_after_header(seconds: float | None) -> dict[str, str]:
    return {"Retry-After": _fmt_retry(seconds)} if seconds is not None else {}
