"""function_app imports and indexes its functions (an import failure shows as '0 functions loaded')."""

from __future__ import annotations

import azure.functions as func

import function_app
from tests.indexed import app_functions


def test_function_app_indexes_health() -> None:
    """The health route is indexed, anonymous and GET only."""
    health = app_functions()["health"]
    trigger = health.get_trigger()
    assert trigger.route == "health"
    assert [str(m) for m in trigger.methods] in (["GET"], ["HttpMethod.GET"])
    assert str(trigger.auth_level).endswith("ANONYMOUS")


def test_health_answers_without_network() -> None:
    """GET /api/health answers ok with the version."""
    req = func.HttpRequest("GET", "http://localhost/api/health", headers={}, params={}, body=b"")
    resp = function_app.health(req)
    assert resp.status_code == 200
    assert b'"status": "ok"' in resp.get_body()
