"""Azure Functions entry point (Python v2 model): triggers only.

Each handler decodes its input, calls `shared/`, and maps the result. Imports stay light:
heavy modules are imported inside handlers so a cold start pays only for what it runs.
"""

from __future__ import annotations

import json

import azure.functions as func

# Role declarations are data, registered at import (no SDK is loaded): /api/context knows
# every one of them as soon as the app is indexed. Modules that declare roles are imported here.
import shared.context.declarations  # noqa: F401
from shared import __version__

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


@app.function_name("automations")
@app.route(route="automations/{name}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def automations(req: func.HttpRequest) -> func.HttpResponse:
    """Run an automation for the caller: an Entra bearer token, validated in code, is the auth."""
    from shared.automations._route import handle

    return handle(req)


@app.function_name("automation_run")
@app.route(route="automations/{name}/runs/{runId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def automation_run(req: func.HttpRequest) -> func.HttpResponse:
    """A long-running automation's run, for the caller that started it (bearer token)."""
    from shared.automations._route import run_status

    return run_status(req)


@app.function_name("automation_worker")
@app.queue_trigger(arg_name="msg", queue_name="automation-runs", connection="AzureWebJobsStorage")
def automation_worker(msg: func.QueueMessage) -> None:
    """Runs a queued long-running automation (202 answers); the outcome goes to its run record."""
    from shared.automations._runs import execute

    execute(msg.get_body())


# -- webhooks (shared/webhooks; docs/webhooks.md) ------------------------------------------
# Your handler modules are named with one line, `webhook_handlers("your_package.module")`
# (from shared.webhooks): they are imported on first use, so this file stays light.
WEBHOOKS_QUEUE = "webhook-events"


@app.function_name("webhooks_graph")
@app.route(route="webhooks/graph", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def webhooks_graph(req: func.HttpRequest) -> func.HttpResponse:
    """Graph change notifications: handshake, clientState, rich and lifecycle events; 202 once stored."""
    from shared.webhooks._receivers import graph

    return graph(req)


@app.function_name("webhooks_eventgrid")
@app.route(route="webhooks/eventgrid", methods=["POST", "OPTIONS"], auth_level=func.AuthLevel.FUNCTION)
def webhooks_eventgrid(req: func.HttpRequest) -> func.HttpResponse:
    """Event Grid and CloudEvents 1.0: validation and OPTIONS handshakes; 200 once stored."""
    from shared.webhooks._receivers import eventgrid

    return eventgrid(req)


@app.function_name("webhooks_signed")
@app.route(route="webhooks/signed/{source}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def webhooks_signed(req: func.HttpRequest) -> func.HttpResponse:
    """Standard Webhooks or GitHub, by source (the signature is the authentication); 200 once stored."""
    from shared.webhooks._receivers import signed

    return signed(req)


@app.function_name("webhooks_process")
@app.queue_trigger(arg_name="msg", queue_name=WEBHOOKS_QUEUE, connection="AzureWebJobsStorage")
def webhooks_process(msg: func.QueueMessage) -> None:
    """Runs each stored event's handlers once (dedupe by event id); failures retry, then poison."""
    from shared.webhooks._processor import queue_processor

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
