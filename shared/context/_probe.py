"""One Graph call per connection and token: `GET /v1.0/organization` proves Graph accepts the token.

A token can look right (roles present) and still be refused: wrong audience, a tenant without
the app's consent, Conditional Access for workload identities. The answer is cached per token,
so a report costs one Graph call per connection per token lifetime, and none after.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from shared.context.declarations import PROBE_ROLE
from shared.errors import GraphError
from shared.identity import Token

if TYPE_CHECKING:
    from shared.context._connection import ConnectionLike

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_answers: dict[tuple[str, int], dict[str, object]] = {}


def probe_graph(conn: ConnectionLike, token: Token) -> dict[str, object]:
    """The organization Graph returns for this token; raises GraphError (with a fix) on refusal."""
    key = (conn.name, token.expires_on)
    with _lock:
        cached = _answers.get(key)
    if cached is not None:
        return cached
    answer = _call(conn.name)
    with _lock:
        # Old tokens' answers are dropped: one entry per connection is enough.
        for old in [k for k in _answers if k[0] == conn.name]:
            del _answers[old]
        _answers[key] = answer
    return answer


def reset_probe_cache() -> None:
    """Forget cached answers (tests)."""
    with _lock:
        _answers.clear()


def _call(name: str) -> dict[str, object]:
    from shared.identity import connection

    try:
        body = connection(name).graph.get("/organization", select=["id", "displayName"], deadline=10)
    except GraphError as exc:
        exc.hint = _hint(exc.status) or exc.hint  # this call needs exactly one role: name it
        raise
    orgs = (body or {}).get("value") or [{}]
    return {"status": 200, "tenantDisplayName": orgs[0].get("displayName"), "tenantId": orgs[0].get("id")}


def _hint(status: int | None) -> str | None:
    if status == 403:
        return (
            f"Grant Microsoft Graph application permission {PROBE_ROLE} to the connection's service "
            "principal and grant admin consent (the context check reads the organization)."
        )
    if status == 401:
        return "Graph refused the token itself: check that the connection asks for the Graph of this cloud."
    return None
