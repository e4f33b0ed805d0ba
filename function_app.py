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
