"""One Graph call per connection and token: `GET /v1.0/organization` proves Graph accepts the token.

A token can look right (roles present) and still be refused: wrong audience, a tenant without
the app's consent, Conditional Access for workload identities. The answer is cached per token,
so a report costs one Graph call per connection per token lifetime, and none after.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from shared.config import get_settings
from shared.context._connection import PROBE_ROLE
from shared.errors import UpstreamError
from shared.http import Deadline, session
from shared.permissions import EVERY_CONNECTION, GRAPH, registry

logger = logging.getLogger(__name__)

PROBE_PATH = "/v1.0/organization?$select=id,displayName"

# The probe is code like any other: it declares the role it needs, on every connection.
registry.require(EVERY_CONNECTION, GRAPH, roles={PROBE_ROLE}, by="context:graph-probe")

_lock = threading.Lock()
_answers: dict[tuple[str, int], dict[str, object]] = {}


def probe_graph(connection: str, token: Any) -> dict[str, object]:
    """The organization Graph returns for this token; raises UpstreamError (step graph) on refusal."""
    key = (connection, int(token.expires_on))
    with _lock:
        cached = _answers.get(key)
    if cached is not None:
        return cached
    answer = _call(token.token)
    with _lock:
        # Old tokens' answers are dropped: one entry per connection is enough.
        for old in [k for k in _answers if k[0] == connection]:
            del _answers[old]
        _answers[key] = answer
    return answer


def reset_probe_cache() -> None:
    """Forget cached answers (tests)."""
    with _lock:
        _answers.clear()


def _call(bearer: str) -> dict[str, object]:
    url = get_settings().cloud.graph_url + PROBE_PATH
    try:
        resp = session().get(
            url, headers={"Authorization": f"Bearer {bearer}"}, timeout=Deadline.after(10).timeout()
        )
    except requests.RequestException as exc:
        raise UpstreamError(
            f"Graph did not answer ({type(exc).__name__}).", step="graph", outage=True
        ) from exc
    if resp.status_code == 200:
        orgs = resp.json().get("value") or [{}]
        return {"status": 200, "tenantDisplayName": orgs[0].get("displayName"), "tenantId": orgs[0].get("id")}
    code, message = _graph_error(resp)
    raise UpstreamError(
        f"Graph answered {resp.status_code} {code or ''} to GET /v1.0/organization: {message}".strip(),
        step="graph",
        status=resp.status_code,
        code=code,
        hint=_hint(resp.status_code),
        outage=resp.status_code == 429 or resp.status_code >= 500,
    )


def _graph_error(resp: requests.Response) -> tuple[str | None, str]:
    try:
        error = resp.json().get("error") or {}
    except ValueError:
        return None, "(no JSON body)"
    return error.get("code"), str(error.get("message") or "")[:300]


def _hint(status: int) -> str | None:
    if status == 403:
        return (
            f"Grant Microsoft Graph application permission {PROBE_ROLE} to the connection's service "
            "principal and grant admin consent (the context check reads the organization)."
        )
    if status == 401:
        return "Graph refused the token itself: check that the connection asks for the Graph of this cloud."
    return None
