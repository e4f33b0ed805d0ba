"""The few Graph calls the built-ins make, with a token from a callable (app-only or on-behalf-of).

One small seam: when `shared.graph.GraphClient` can take a token source, these calls move
there. Errors leave as `GraphCallError` (an `UpstreamError`) carrying Graph's status and code,
never the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from shared.errors import UpstreamError

log = logging.getLogger(__name__)


class GraphCallError(UpstreamError):
    """Graph answered an error; `status` and `code` are Graph's (e.g. 404 Request_ResourceNotFound)."""

    default_step = "graph"


def app_token(connection: str) -> str:
    """The connection's app-only Graph token (cached by the connection: warm calls cost nothing)."""
    from shared.identity import connection as named

    return named(connection).token("graph").value


class GraphCaller:
    """`request(method, path, json)` against the cloud's Graph v1.0 with the token `token()` gives."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def request(self, method: str, path: str, json: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """(status, body or None) for a 2xx; GraphCallError otherwise."""
        import requests

        from shared.config import get_settings
        from shared.http import session

        url = f"{get_settings().cloud.graph_url.rstrip('/')}/v1.0{path}"
        headers = {"Authorization": f"Bearer {self._token()}"}
        try:
            response = session().request(method, url, json=json, headers=headers, timeout=(3.05, 20))
        except requests.RequestException as exc:
            raise GraphCallError(
                f"Graph could not be reached ({type(exc).__name__}).", step="graph", outage=True
            ) from exc
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            code = str(error.get("code") or "") or None
            message = str(error.get("message") or "")[:300]
            log.info("Graph %s %s answered %s %s", method, path.split("?")[0], response.status_code, code)
            raise GraphCallError(
                f"Graph answered {response.status_code} {code or ''}: {message}".strip(),
                step="graph",
                status=response.status_code,
                code=code,
                outage=response.status_code in (429, 500, 502, 503, 504),
            )
        return response.status_code, body
