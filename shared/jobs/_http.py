"""The jobs routes: list jobs, run one on demand, and read the ledger (docs/contract.md, ## Jobs)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import azure.functions as func

from shared import clock
from shared.errors import AutomationError
from shared.jobs._declare import Job, UnknownJob, get_job, registry
from shared.permissions import compare
from shared.problems import instance_of, problem_response, respond

MAX_PAGE = 100
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as an HTTP header token


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers=headers
    )


def _unknown(req: func.HttpRequest, exc: UnknownJob) -> func.HttpResponse:
    return problem_response(
        404, str(exc), slug="unknown-job", instance=instance_of(req), known=registry.names()
    )


def _base(req: func.HttpRequest) -> str:
    # Location is the path the caller used, prefix included, without the query (it may hold the key).
    path = urlsplit(req.url).path
    return path[: path.find("/jobs")] if "/jobs" in path else "/api"


def _missing_roles(job: Job) -> dict[str, Any]:
    """Per connection: the roles the job needs that its token lacks (or why that is unknown)."""
    from shared.jobs._connections import open_connection

    out: dict[str, Any] = {}
    for name in job.connections():
        if not job.roles:
            out[name] = []
            continue
        try:
            claims = open_connection(name).token(job.resource).claims
        except AutomationError as exc:
            out[name] = {"unknown": exc.message}
            continue
        granted = claims.get("roles") or []
        out[name] = list(compare(granted, {r: [f"job:{job.name}"] for r in job.roles}).missing)
    return out


def describe(job: Job, *, with_roles: bool = True) -> dict[str, Any]:
    """One job as GET /api/jobs shows it."""
    from shared.jobs._engine import engine
    from shared.runs import Kind

    schedule = job.schedule()
    latest = engine().runs.latest(Kind.JOB, job.name, limit=1)
    return {
        "name": job.name,
        "description": job.description,
        "enabled": job.enabled(),
        "schedule": {
            "expression": schedule.expression,
            "setting": job.schedule_setting,
            "timeZone": "UTC",
            "next": [_iso(t) for t in schedule.upcoming(clock.now(), 3)],
        },
        "catchUp": job.catch_up,
        "timeoutSeconds": int(job.timeout.total_seconds()),
        "connections": job.connections(),
        "fansOut": job.fans_out,
        "roles": sorted(job.roles),
        "rolesMissing": _missing_roles(job) if with_roles else None,
        "lastRun": latest[0].to_dict() if latest else None,
    }


def list_jobs(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/jobs."""
    return respond(req, lambda: _json({"jobs": [describe(j) for j in registry.all()]}))


def request_run(req: func.HttpRequest, name: str) -> func.HttpResponse:
    """POST /api/jobs/{name}/run: 202 and Location; the same Idempotency-Key gives the same run."""

    def build() -> func.HttpResponse:
        from shared.jobs._engine import JobDisabled, engine

        key = req.headers.get("Idempotency-Key")
        if key is not None and not _KEY.match(key):
            return problem_response(
                400, "Idempotency-Key must be 1-200 visible ASCII characters.", instance=instance_of(req)
            )
        connection = None
        raw = req.get_body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict) or not set(body) <= {"connection"}:
                return problem_response(
                    400,
                    'The body is optional; when sent it is {"connection": "<name>"}.',
                    instance=instance_of(req),
                )
            connection = body.get("connection")
            if connection is not None and (not isinstance(connection, str) or not connection.strip()):
                return problem_response(
                    400, "connection must be a connection name.", instance=instance_of(req)
                )
        try:
            job = get_job(name)
        except UnknownJob as exc:
            return _unknown(req, exc)
        try:
            run, created = engine().request(
                job.name,
                idempotency_key=key,
                caller=req.headers.get("X-MS-CLIENT-PRINCIPAL-NAME") or "function-key",
                connection=connection.strip().lower() if connection else None,
            )
        except JobDisabled as exc:
            return problem_response(
                409, exc.message, slug="job-disabled", instance=instance_of(req), hint=exc.hint
            )
        location = f"{_base(req)}/jobs/{job.name}/runs/{run.id}"
        headers = {"Location": location, **({} if created else {"Idempotent-Replayed": "true"})}
        return _json(run.to_dict(), 202, headers)

    return respond(req, build)


def _since(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_runs(req: func.HttpRequest, name: str) -> func.HttpResponse:
    """GET /api/jobs/{name}/runs?status=&since=&limit=&continuation=."""

    def build() -> func.HttpResponse:
        from shared.jobs._engine import engine
        from shared.runs import Kind, Status

        try:
            job = get_job(name)
        except UnknownJob as exc:
            return _unknown(req, exc)
        params = req.params
        unknown = sorted(set(params) - {"status", "since", "limit", "continuation", "code"})
        problems: list[str] = [f"unknown parameter {p!r}" for p in unknown]
        status = None
        if params.get("status"):
            try:
                status = Status(params["status"])
            except ValueError:
                problems.append(f"status is one of {', '.join(s.value for s in Status)}")
        since = None
        if params.get("since"):
            try:
                since = _since(params["since"])
            except ValueError:
                problems.append("since is an ISO 8601 time, e.g. 2026-12-01T06:00:00Z")
        limit = 50
        if params.get("limit"):
            try:
                limit = int(params["limit"])
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_PAGE:
                problems.append(f"limit is a whole number from 1 to {MAX_PAGE}")
        if problems:
            return problem_response(
                400, "; ".join(problems) + ".", instance=instance_of(req), errors=problems
            )
        try:
            page = engine().runs.query(
                Kind.JOB,
                job.name,
                status=status,
                since=since,
                page_size=limit,
                continuation=params.get("continuation") or None,
            )
        except ValueError:
            return problem_response(
                400, "continuation is not one this API handed out.", instance=instance_of(req)
            )
        next_url = None
        if page.continuation:
            query = {k: v for k, v in params.items() if k not in ("continuation", "code")}
            query["continuation"] = page.continuation
            next_url = f"{_base(req)}/jobs/{job.name}/runs?{urlencode(query)}"
        return _json({"runs": [r.to_dict() for r in page.runs], "next": next_url})

    return respond(req, build)


def get_run(req: func.HttpRequest, name: str, run_id: str, *, output: bool = False) -> func.HttpResponse:
    """GET /api/jobs/{name}/runs/{id} (with its children) and .../output (the report JSON)."""

    def build() -> func.HttpResponse:
        from shared.jobs._engine import engine
        from shared.runs import Kind

        try:
            job = get_job(name)
        except UnknownJob as exc:
            return _unknown(req, exc)
        runs = engine().runs
        run = runs.get(Kind.JOB, job.name, run_id)
        if run is None:
            return problem_response(
                404, f"Job {job.name} has no run {run_id!r}.", slug="unknown-run", instance=instance_of(req)
            )
        if output:
            data = runs.read_output(run)
            if data is None:
                return problem_response(
                    404,
                    f"Run {run.id} has no output (status {run.status.value}).",
                    slug="no-output",
                    instance=instance_of(req),
                )
            return func.HttpResponse(data, status_code=200, mimetype="application/json")
        body = run.to_dict()
        if "children" in run.detail:
            body["children"] = [c.to_dict() for c in sorted(runs.children(run), key=lambda c: c.key)]
        return _json(body)

    return respond(req, build)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
