"""Azure Functions entry point (Python v2 model): triggers only.

Each handler decodes its input, calls `shared/`, and maps the result. Imports stay light:
heavy modules are imported inside handlers so a cold start pays only for what it runs.
"""

from __future__ import annotations

import json

import azure.functions as func

from shared import __version__
from shared.jobs import add_timer  # declarations are data: no SDK import
from shared.jobs.builtin import credential_expiry

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness: no network call, no configuration read."""
    return func.HttpResponse(
        json.dumps({"status": "ok", "version": __version__}),
        status_code=200,
        mimetype="application/json",
    )


@app.function_name("context")
@app.route(route="context", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def context(req: func.HttpRequest) -> func.HttpResponse:
    """Connections and host facts (`?connection=NAME` for one); never a token, key or secret."""
    # Imported here: the report pulls in the identity SDKs, which only this route needs.
    from shared.context import context_response

    return context_response(req)


# -- Jobs (shared/jobs; README "Write a job"). One line per job: its timer on %JOB_<NAME>_SCHEDULE%.
add_timer(app, credential_expiry.JOB)


@app.function_name("jobs_list")
@app.route(route="jobs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def jobs_list(req: func.HttpRequest) -> func.HttpResponse:
    """Every job: schedule, next three slots, connections, roles missing, last run."""
    from shared.jobs._http import list_jobs

    return list_jobs(req)


@app.function_name("jobs_run")
@app.route(route="jobs/{name}/run", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def jobs_run(req: func.HttpRequest) -> func.HttpResponse:
    """Queue an on-demand run: 202 + Location; `Idempotency-Key` honoured."""
    from shared.jobs._http import request_run

    return request_run(req, req.route_params["name"])


@app.function_name("jobs_runs")
@app.route(route="jobs/{name}/runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def jobs_runs(req: func.HttpRequest) -> func.HttpResponse:
    """A job's runs, newest first (`status`, `since`, `limit`, `continuation`)."""
    from shared.jobs._http import list_runs

    return list_runs(req, req.route_params["name"])


@app.function_name("jobs_run_get")
@app.route(route="jobs/{name}/runs/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def jobs_run_get(req: func.HttpRequest) -> func.HttpResponse:
    """One run (with its children when it fanned out)."""
    from shared.jobs._http import get_run

    return get_run(req, req.route_params["name"], req.route_params["id"])


@app.function_name("jobs_run_output")
@app.route(route="jobs/{name}/runs/{id}/output", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def jobs_run_output(req: func.HttpRequest) -> func.HttpResponse:
    """One run's output (its report, JSON)."""
    from shared.jobs._http import get_run

    return get_run(req, req.route_params["name"], req.route_params["id"], output=True)


@app.function_name("jobs_runs_queue")
@app.queue_trigger(arg_name="msg", queue_name="jobs-runs", connection="AzureWebJobsStorage")
def jobs_runs_queue(msg: func.QueueMessage) -> None:
    """On-demand runs and retries, queued by the routes and the engine."""
    from shared.jobs._engine import engine

    engine().on_run_message(msg.get_body())


@app.function_name("jobs_units_queue")
@app.queue_trigger(arg_name="msg", queue_name="jobs-units", connection="AzureWebJobsStorage")
def jobs_units_queue(msg: func.QueueMessage) -> None:
    """One child of a fanned-out run; raising RetryLater has the queue deliver it again."""
    from shared.jobs._engine import engine

    engine().on_unit_message(msg.get_body(), msg.dequeue_count or 1)


@app.function_name("jobs_units_poison")
@app.queue_trigger(arg_name="msg", queue_name="jobs-units-poison", connection="AzureWebJobsStorage")
def jobs_units_poison(msg: func.QueueMessage) -> None:
    """A child that failed maxDequeueCount times: marked failed, and its parent settled."""
    from shared.jobs._engine import engine

    engine().on_unit_poison(msg.get_body())
