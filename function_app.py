"""Azure Functions entry point (Python v2 model): triggers only.

Each handler decodes its input, calls `shared/`, and maps the result. Imports stay light:
heavy modules are imported inside handlers so a cold start pays only for what it runs.
"""

from __future__ import annotations

import json

import azure.functions as func

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


@app.function_name("openapi")
@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """OpenAPI 3.1 of every HTTP route this app serves, generated from its indexed functions."""
    from shared.openapi import openapi_response

    response: func.HttpResponse = openapi_response(app)
    return response
