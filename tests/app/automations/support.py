"""Helpers for the automation route tests: call the trigger in-process, read the problem body."""

from __future__ import annotations

import base64
import json
from typing import Any

import azure.functions as func

import function_app
from devstack.host.invocation import InvocationContext, invocation_trace

ROUTE_URL = "http://127.0.0.1:7071/api/automations/{name}"


def call(
    name: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    invocation_parent: str | None = None,
) -> func.HttpResponse:
    """POST /api/automations/{name} through the function_app trigger, as the host calls it (with
    an invocation context: `invocation_parent`, else a child of the `traceparent` header, if any)."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    req = func.HttpRequest(
        "POST", ROUTE_URL.format(name=name), headers=sent, params={}, route_params={"name": name}, body=data
    )
    parent, state = invocation_trace(sent.get("traceparent"), sent.get("tracestate"))
    if invocation_parent is not None:
        parent, state = invocation_parent, ""
    context = InvocationContext("test", "automations", ".", parent, state)
    response: func.HttpResponse = function_app.automations(req, context)
    return response


def run_status(name: str, run_id: str, token: str) -> func.HttpResponse:
    req = func.HttpRequest(
        "GET",
        ROUTE_URL.format(name=name) + f"/runs/{run_id}",
        headers={"Authorization": f"Bearer {token}"},
        params={},
        route_params={"name": name, "runId": run_id},
        body=b"",
    )
    response: func.HttpResponse = function_app.automation_run(req)
    return response


def body(response: func.HttpResponse) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(response.get_body())
    return value


def principal_header(claims: list[tuple[str, str]], *, name_typ: str, role_typ: str) -> str:
    """An X-MS-CLIENT-PRINCIPAL value as App Service's authentication writes it."""
    doc = {
        "auth_typ": "aad",
        "claims": [{"typ": t, "val": v} for t, v in claims],
        "name_typ": name_typ,
        "role_typ": role_typ,
    }
    return base64.b64encode(json.dumps(doc).encode()).decode()
