"""Graph's error answers as `GraphError`s (transport failures: `shared.boundary.graph_transport_error`).

Graph's error body is `{"error": {"code", "message", "innerError": {"request-id",
"client-request-id", "date"}}}`; the same ids come back as response headers, which are
preferred (a 5xx from a gateway may have no body). Messages name the method and the path
without its query string, never the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from shared.errors import GraphError, GraphTimeoutError
from shared.http import retry_after_seconds

_HINTS = {
    401: "Graph refused the token itself: check that the connection asks for a token for the Graph "
    "of this cloud (the `graph` resource), and that the token has not expired.",
    403: "Grant the connection's service principal a Microsoft Graph application permission that "
    "this operation accepts, then grant admin consent (the operation's page on "
    "https://learn.microsoft.com/graph/api/overview lists them).",
}


def graph_error(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    method: str,
    path: str,
    timeout: bool = False,
    waited: str = "",
) -> GraphError:
    """A GraphError from an answer (a whole response or a `$batch` item's status/headers/body)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get("innerError") or error.get("innererror") or {}
    inner = inner if isinstance(inner, dict) else {}
    code = _str(error.get("code"))
    message = _str(error.get("message")) or ""
    lower = {k.lower(): v for k, v in headers.items()}
    kind = GraphTimeoutError if timeout else GraphError
    prefix = f"Graph answered {status}{' ' + code if code else ''} to {method} {path}"
    if timeout:
        prefix = f"Deadline passed{waited} before Graph answered {method} {path}; last answer {status}"
        prefix += f" {code}" if code else ""
    return kind(
        f"{prefix}: {message[:300]}" if message else f"{prefix}.",
        status=status,
        code=code,
        hint=_HINTS.get(status),
        outage=timeout or status in (429, 503, 504) or status >= 500,
        method=method,
        path=path,
        request_id=lower.get("request-id") or _str(inner.get("request-id")),
        client_request_id=lower.get("client-request-id") or _str(inner.get("client-request-id")),
        retry_after=retry_after_seconds(lower.get("retry-after")),
        throttle_scope=lower.get("x-ms-throttle-scope"),
        throttle_information=lower.get("x-ms-throttle-information"),
        resource_unit=lower.get("x-ms-resource-unit"),
    )


def response_error(resp: requests.Response, *, method: str, path: str) -> GraphError:
    """A GraphError from a whole HTTP response."""
    return graph_error(resp.status_code, resp.headers, _body(resp), method=method, path=path)


def _body(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _str(value: object) -> str | None:
    return str(value) if value is not None else None
