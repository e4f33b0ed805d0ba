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


def test_every_function_loads_as_the_worker_loads_it() -> None:
    """Every annotation resolves (the worker's typing.get_type_hints) and each `context` is func.Context."""
    import inspect
    import typing

    for name, function in app_functions().items():
        user_function = function.get_user_function()
        hints = typing.get_type_hints(user_function)
        if "context" in inspect.signature(user_function).parameters:
            assert hints["context"] is func.Context, name


def test_run_starting_functions_receive_the_invocation_context() -> None:
    """The functions that start runs declare `context`, so the host passes its trace context."""
    import inspect

    functions = app_functions()
    starting = ["automations", "automation_worker", "webhooks_process", "jobs_runs_queue", "jobs_units_queue"]
    starting += [n for n in functions if n.startswith("job_")]
    assert len(starting) > 5
    for name in starting:
        assert "context" in inspect.signature(functions[name].get_user_function()).parameters, name
