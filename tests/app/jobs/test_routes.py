"""The jobs routes through function_app's handlers, on Azurite: answers, Location, problem+json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

import function_app
from shared.jobs import JobContext
from shared.storage import Account
from tests.app.jobs.support import Pump, declared
from tests.devstack.support import http_context
from tests.indexed import app_functions

ROOT = Path(__file__).resolve().parents[3]


def _req(
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    route: dict[str, str] | None = None,
) -> func.HttpRequest:
    return func.HttpRequest(
        method,
        f"http://localhost{path}",
        headers=headers or {},
        params=params or {},
        body=body,
        route_params=route or {},
    )


def _json(resp: func.HttpResponse) -> Any:
    return json.loads(resp.get_body())


def _problem(resp: func.HttpResponse, status: int) -> dict[str, Any]:
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    return dict(_json(resp))


def _echo(ctx: JobContext) -> dict[str, str]:
    return {"run": ctx.run.id}


@pytest.fixture
def echo(storage: Account) -> Any:
    with declared("echo", _echo, schedule="0 */5 * * * *") as job:
        yield job


def test_jobs_list_shows_schedule_next_slots_roles_and_last_run(echo: Any) -> None:
    """GET /api/jobs lists each job with its schedule setting, next three slots, roles and last run."""
    resp = function_app.jobs_list(_req("GET", "/api/jobs"))
    assert resp.status_code == 200
    jobs = {j["name"]: j for j in _json(resp)["jobs"]}
    builtin = jobs["credential-expiry"]
    assert builtin["schedule"]["setting"] == "JOB_CREDENTIAL_EXPIRY_SCHEDULE"
    assert len(builtin["schedule"]["next"]) == 3
    assert builtin["roles"] == ["Application.Read.All"]
    assert "graph" in builtin["rolesMissing"]  # unknown here: no connection is configured
    assert jobs["echo"]["schedule"]["expression"] == "0 */5 * * * *"
    assert jobs["echo"]["lastRun"] is None


def test_run_returns_202_with_location_and_honours_idempotency_key(echo: Any, storage: Account) -> None:
    """POST run answers 202 + Location at once; the same Idempotency-Key answers the same run."""
    headers = {"Idempotency-Key": "deploy-42"}
    first = function_app.jobs_run(
        _req("POST", "/api/jobs/echo/run", headers=headers, route={"name": "echo"}), http_context()
    )
    again = function_app.jobs_run(
        _req("POST", "/api/jobs/echo/run", headers=headers, route={"name": "echo"}), http_context()
    )
    assert first.status_code == 202
    run = _json(first)
    assert run["status"] == "queued"
    assert first.headers["Location"] == f"/api/jobs/echo/runs/{run['id']}"
    assert again.status_code == 202
    assert _json(again)["id"] == run["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    from shared.jobs._engine import engine

    Pump(storage, engine()).drain()
    got = function_app.jobs_run_get(_req("GET", "/x", route={"name": "echo", "id": run["id"]}))
    assert _json(got)["status"] == "succeeded"
    output = function_app.jobs_run_output(_req("GET", "/x", route={"name": "echo", "id": run["id"]}))
    assert _json(output) == {"run": run["id"]}
    listed = function_app.jobs_runs(
        _req("GET", "/api/jobs/echo/runs", params={"status": "succeeded"}, route={"name": "echo"})
    )
    assert [r["id"] for r in _json(listed)["runs"]] == [run["id"]]


def test_runs_page_with_a_next_link(echo: Any, storage: Account) -> None:
    """Listing with limit=1 gives one run and a `next` URL that gives the other."""
    for key in ("a", "b"):
        function_app.jobs_run(
            _req("POST", "/api/jobs/echo/run", headers={"Idempotency-Key": key}, route={"name": "echo"}),
            http_context(),
        )
    page = _json(
        function_app.jobs_runs(
            _req("GET", "/api/jobs/echo/runs", params={"limit": "1"}, route={"name": "echo"})
        )
    )
    assert len(page["runs"]) == 1
    assert page["next"].startswith("/api/jobs/echo/runs?")
    token = page["next"].split("continuation=")[1]
    rest = _json(
        function_app.jobs_runs(
            _req(
                "GET",
                "/api/jobs/echo/runs",
                params={"limit": "1", "continuation": token},
                route={"name": "echo"},
            )
        )
    )
    assert len(rest["runs"]) == 1
    assert rest["runs"][0]["id"] != page["runs"][0]["id"]


def test_unknown_job_is_404_naming_the_known_ones(echo: Any) -> None:
    """Every route answers 404 problem+json for an unknown job, listing the declared ones."""
    answers = [
        function_app.jobs_run(_req("POST", "/api/jobs/nope/run", route={"name": "nope"}), http_context()),
        function_app.jobs_runs(_req("GET", "/api/jobs/nope/runs", route={"name": "nope"})),
        function_app.jobs_run_get(_req("GET", "/x", route={"name": "nope", "id": "1"})),
    ]
    for answer in answers:
        body = _problem(answer, 404)
        assert "echo" in body["known"]


def test_unknown_run_and_missing_output_are_404(echo: Any) -> None:
    """An unknown or malformed run id, and a run without output, answer 404 problem+json."""
    for run_id in ("0000000000000-00000000", "../etc"):
        _problem(function_app.jobs_run_get(_req("GET", "/x", route={"name": "echo", "id": run_id})), 404)
    queued = _json(
        function_app.jobs_run(_req("POST", "/api/jobs/echo/run", route={"name": "echo"}), http_context())
    )
    body = _problem(
        function_app.jobs_run_output(_req("GET", "/x", route={"name": "echo", "id": queued["id"]})), 404
    )
    assert "queued" in body["detail"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"status": "done"}, "status is one of"),
        ({"since": "yesterday"}, "ISO 8601"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"continuation": "forged"}, "continuation"),
        ({"sort": "asc"}, "unknown parameter"),
    ],
)
def test_bad_filters_are_400(echo: Any, params: dict[str, str], says: str) -> None:
    """A bad status, since, limit, continuation or unknown parameter answers 400 saying what is expected."""
    body = _problem(
        function_app.jobs_runs(_req("GET", "/api/jobs/echo/runs", params=params, route={"name": "echo"})), 400
    )
    assert says in body["detail"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Idempotency-Key": "x" * 201}, b""),
        ({"Idempotency-Key": "has space"}, b""),
        ({}, b"not json"),
        ({}, b'{"connection": 3}'),
        ({}, b'{"other": "x"}'),
    ],
)
def test_bad_run_requests_are_400(echo: Any, headers: dict[str, str], body: bytes) -> None:
    """A malformed Idempotency-Key or body answers 400 problem+json and queues nothing."""
    _problem(
        function_app.jobs_run(
            _req("POST", "/api/jobs/echo/run", headers=headers, body=body, route={"name": "echo"}),
            http_context(),
        ),
        400,
    )


def test_disabled_job_is_409(echo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """POST run for a job with JOB_<NAME>_ENABLED=false answers 409 naming the setting."""
    monkeypatch.setenv("JOB_ECHO_ENABLED", "false")
    body = _problem(
        function_app.jobs_run(_req("POST", "/api/jobs/echo/run", route={"name": "echo"}), http_context()), 409
    )
    assert "JOB_ECHO_ENABLED" in body["hint"]


def test_function_app_indexes_job_triggers() -> None:
    """The built-in job's timer, the routes and the three queue triggers are indexed."""
    names = set(app_functions())
    assert {
        "job_credential_expiry",
        "jobs_list",
        "jobs_run",
        "jobs_runs",
        "jobs_run_get",
        "jobs_run_output",
        "jobs_runs_queue",
        "jobs_units_queue",
        "jobs_units_poison",
    } <= names


def test_importing_function_app_loads_no_storage_sdk() -> None:
    """A fresh interpreter importing function_app has loaded no storage SDK nor the ledger."""
    code = (
        "import json, sys, function_app\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('azure.storage', 'azure.data', "
        "'shared.runs', 'shared.storage._account', 'shared.jobs._engine')))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
