"""Declarations for the routes this package knows: health, context, the automations and openapi."""

from __future__ import annotations

from typing import Any

from shared.openapi._docs import document, json_response, problem

BEARER: list[dict[str, list[str]]] = [{"entraBearer": []}]

document(
    "health",
    get={
        "responses": {
            "200": json_response(
                "The app is up.",
                {
                    "type": "object",
                    "properties": {"status": {"const": "ok"}, "version": {"type": "string"}},
                    "required": ["status", "version"],
                },
            )
        }
    },
)

document(
    "context",
    get={
        "parameters": [
            {
                "name": "connection",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Only this connection.",
            }
        ],
        "responses": {
            "200": json_response(
                "Connections and host facts; never a token, key or secret.", {"type": "object"}
            ),
        },
    },
)

document(
    "openapi",
    get={"responses": {"200": json_response("This document (OpenAPI 3.1).", {"type": "object"})}},
)


def _automation_paths() -> dict[str, dict[str, Any]]:
    from shared.automations import declared

    out: dict[str, dict[str, Any]] = {}
    for a in declared():
        who = []
        if a.scopes:
            who.append(f"users need the scope {' or '.join(sorted(a.scopes))}")
        if a.roles:
            callers = "users and apps" if a.allows_apps else "users"
            who.append(f"{callers} need the app role {' or '.join(sorted(a.roles))}")
        runs = "on behalf of the caller" if a.run_as.value == "caller" else "as the app"
        answers: dict[str, Any] = {
            "400": problem("The body is not JSON or breaks the input schema (`errors` lists each)."),
            "401": {
                **problem("No token, or not an acceptable one (`WWW-Authenticate: Bearer` says why)."),
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            },
            "403": problem("The caller lacks the role or scope (`missingRoles`, `missingScopes`)."),
            "404": problem("The user or group named does not exist."),
            "502": problem("Entra or Graph refused or failed."),
            "503": problem("The app's configuration or Entra's keys are unavailable."),
        }
        if a.long_running:
            answers["202"] = {
                **json_response(
                    "Queued; `Location` is the run.",
                    {
                        "type": "object",
                        "properties": {
                            "automation": {"type": "string"},
                            "runId": {"type": "string"},
                            "status": {"const": "queued"},
                            "location": {"type": "string"},
                        },
                        "required": ["automation", "runId", "status", "location"],
                    },
                ),
                "headers": {"Location": {"schema": {"type": "string"}}},
            }
        else:
            answers["200"] = json_response(
                "Done.",
                {
                    "type": "object",
                    "properties": {
                        "automation": {"const": a.name},
                        "runId": {"type": "string"},
                        "result": dict(a.output_schema),
                    },
                    "required": ["automation", "runId", "result"],
                },
            )
        out[f"/automations/{a.name}"] = {
            "operationId": f"automation-{a.name}",
            "summary": a.summary,
            "description": f"Runs {runs}; {'; '.join(who)}.",
            "security": BEARER,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": dict(a.input_schema)}},
            },
            "responses": answers,
        }
    return out


document("automations", expand=_automation_paths)

document(
    "automation_run",
    get={
        "security": BEARER,
        "responses": {
            "200": json_response(
                "The run, for the caller that started it.",
                {
                    "type": "object",
                    "properties": {
                        "automation": {"type": "string"},
                        "runId": {"type": "string"},
                        "status": {"type": ["string", "null"]},
                        "created": {"type": "string"},
                        "finished": {"type": ["string", "null"]},
                        "result": {},
                        "error": {"type": ["string", "null"]},
                    },
                    "required": ["automation", "runId", "status"],
                },
            ),
            "401": problem("No token, or not an acceptable one."),
            "403": problem("The caller lacks the role or scope."),
            "404": problem("No such automation or run (or not this caller's)."),
            "503": problem("The app's configuration is unavailable."),
        },
    },
)
