"""Azure Functions entry point (Python v2 model): triggers only.

Each handler decodes its input, calls `shared/`, and maps the result. Imports stay light:
heavy modules are imported inside handlers so a cold start pays only for what it runs.
Handlers that start or queue runs declare `context` (the host then passes the invocation's
func.Context) and run inside `telemetry.invocation(context)`: each run's trace hangs under the
host's invocation in Application Insights, and work queued by a request links back to it
(docs/telemetry.md, "Correlation with the Functions host").
"""

from __future__ import annotations

import json

import azure.functions as func

# Role declarations are data, registered at import (no SDK is loaded): /api/context knows
# every one of them as soon as the app is indexed. Modules that declare roles are imported here.
import shared.automations.builtins  # their Graph roles, on AUTOMATIONS__CONNECTION
import shared.context.declarations  # noqa: F401
from shared import __version__
from shared.easy_auth import easy_auth_enabled
from shared.jobs import add_timer  # declarations are data: no SDK import
from shared.jobs.builtin import certificate_rotation, credential_expiry, runs_retention, secret_rotation

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


# With App Service authentication on (WEBSITE_AUTH_ENABLED, set by the platform) the page takes
# the signed-in principal instead of the function key (shared/status/_easy_auth.py).
@app.function_name("status")
@app.route(
    route="status",
    methods=["GET"],
    auth_level=func.AuthLevel.ANONYMOUS if easy_auth_enabled() else func.AuthLevel.FUNCTION,
)
def status(req: func.HttpRequest) -> func.HttpResponse:
    """The operators' status page (HTML): connections, certificates, jobs, webhooks."""
    from shared.status import status_response

    return status_response(req)


@app.function_name("automations")
@app.route(route="automations/{name}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def automations(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Run an automation for the caller: an Entra bearer token, validated in code, is the auth."""
    from shared.automations._route import handle
    from shared.telemetry import invocation

    with invocation(context):
        return handle(req)


@app.function_name("automation_run")
@app.route(route="automations/{name}/runs/{runId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def automation_run(req: func.HttpRequest) -> func.HttpResponse:
    """A long-running automation's run, for the caller that started it (bearer token)."""
    from shared.automations._route import run_status

    return run_status(req)


@app.function_name("automation_worker")
@app.queue_trigger(arg_name="msg", queue_name="automation-runs", connection="AzureWebJobsStorage")
def automation_worker(msg: func.QueueMessage, context: func.Context) -> None:
    """Runs a queued long-running automation (202 answers); the outcome goes to its run record."""
    from shared.automations._runs import execute
    from shared.telemetry import invocation

    with invocation(context):
        execute(msg.get_body())


@app.function_name("openapi")
@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """OpenAPI 3.1 of every HTTP route this app serves, generated from its indexed functions."""
    from shared.openapi import openapi_response

    response: func.HttpResponse = openapi_response(app)
    return response


# -- webhooks (shared/webhooks; docs/webhooks.md) ------------------------------------------
# Your handler modules are named with one line, `webhook_handlers("your_package.module")`
# (from shared.webhooks): they are imported on first use, so this file stays light.
WEBHOOKS_QUEUE = "webhook-events"


@app.function_name("webhooks_graph")
@app.route(route="webhooks/graph", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def webhooks_graph(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Graph change notifications: handshake, clientState, rich and lifecycle events; 202 once stored."""
    from shared.telemetry import invocation
    from shared.webhooks._receivers import graph

    with invocation(context):  # the stored message links its processing to this request
        return graph(req)


@app.function_name("webhooks_eventgrid")
@app.route(route="webhooks/eventgrid", methods=["POST", "OPTIONS"], auth_level=func.AuthLevel.FUNCTION)
def webhooks_eventgrid(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Event Grid and CloudEvents 1.0: validation and OPTIONS handshakes; 200 once stored."""
    from shared.telemetry import invocation
    from shared.webhooks._receivers import eventgrid

    with invocation(context):
        return eventgrid(req)


@app.function_name("webhooks_signed")
@app.route(route="webhooks/signed/{source}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def webhooks_signed(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Standard Webhooks or GitHub, by source (the signature is the authentication); 200 once stored."""
    from shared.telemetry import invocation
    from shared.webhooks._receivers import signed

    with invocation(context):
        return signed(req)


@app.function_name("webhooks_process")
@app.queue_trigger(arg_name="msg", queue_name=WEBHOOKS_QUEUE, connection="AzureWebJobsStorage")
def webhooks_process(msg: func.QueueMessage, context: func.Context) -> None:
    """Runs each stored event's handlers once (dedupe by event id); failures retry, then poison."""
    from shared.telemetry import invocation
    from shared.webhooks._processor import queue_processor

    with invocation(context):
        queue_processor(msg)


@app.function_name("webhooks_events")
@app.route(route="webhooks/events", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def webhooks_events(req: func.HttpRequest) -> func.HttpResponse:
    """The event log, newest first: `?source&status&since&top&continuation`."""
    from shared.webhooks._views import events

    return events(req)


@app.function_name("webhooks_event")
@app.route(route="webhooks/events/{source}/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def webhooks_event(req: func.HttpRequest) -> func.HttpResponse:
    """One event's record with its stored payload (never a secret or token)."""
    from shared.webhooks._views import events

    return events(req)


@app.function_name("webhooks_overview")
@app.route(route="webhooks", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def webhooks_overview(req: func.HttpRequest) -> func.HttpResponse:
    """Declared sources, handlers and Graph subscriptions (id, resource, expiry, last notification)."""
    from shared.webhooks._views import overview

    return overview(req)


@app.function_name("webhooks_subscriptions")
@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=False)
def webhooks_subscriptions(timer: func.TimerRequest) -> None:
    """Creates declared Graph subscriptions, renews them before expiry, purges events past retention."""
    from shared.webhooks._subscriptions import sync_subscriptions

    sync_subscriptions()


# -- Jobs (shared/jobs; README "Write a job"). One line per job: its timer on %JOB_<NAME>_SCHEDULE%.
add_timer(app, credential_expiry.JOB)
add_timer(app, runs_retention.JOB)
add_timer(app, certificate_rotation.JOB)
add_timer(app, secret_rotation.JOB)


@app.function_name("jobs_list")
@app.route(route="jobs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def jobs_list(req: func.HttpRequest) -> func.HttpResponse:
    """Every job: schedule, next three slots, connections, roles missing, last run."""
    from shared.jobs._http import list_jobs

    return list_jobs(req)


@app.function_name("jobs_run")
@app.route(route="jobs/{name}/run", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def jobs_run(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Queue an on-demand run: 202 + Location; `Idempotency-Key` honoured."""
    from shared.jobs._http import request_run
    from shared.telemetry import invocation

    with invocation(context):  # the queued run's span links to this request
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
def jobs_runs_queue(msg: func.QueueMessage, context: func.Context) -> None:
    """On-demand runs and retries, queued by the routes and the engine."""
    from shared.jobs._engine import engine
    from shared.telemetry import invocation

    with invocation(context):
        engine().on_run_message(msg.get_body())


@app.function_name("jobs_units_queue")
@app.queue_trigger(arg_name="msg", queue_name="jobs-units", connection="AzureWebJobsStorage")
def jobs_units_queue(msg: func.QueueMessage, context: func.Context) -> None:
    """One child of a fanned-out run; raising RetryLater has the queue deliver it again."""
    from shared.jobs._engine import engine
    from shared.telemetry import invocation

    with invocation(context):
        engine().on_unit_message(msg.get_body(), msg.dequeue_count or 1)


@app.function_name("jobs_units_poison")
@app.queue_trigger(arg_name="msg", queue_name="jobs-units-poison", connection="AzureWebJobsStorage")
def jobs_units_poison(msg: func.QueueMessage) -> None:
    """A child that failed maxDequeueCount times: marked failed, and its parent settled."""
    from shared.jobs._engine import engine

    engine().on_unit_poison(msg.get_body())
