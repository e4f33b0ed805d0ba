"""GET /api/openapi.json describes every HTTP route the app indexes, and nothing it does not serve."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import azure.functions as func
import schemathesis

import function_app
from shared.automations import declared
from shared.openapi import http_routes, openapi_document, openapi_path

ROOT = Path(__file__).resolve().parents[3]


def _template_regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def _document() -> dict[str, Any]:
    return openapi_document(function_app.app)


def test_every_indexed_route_is_described() -> None:
    """Each HTTP function's path and methods appear in the document (templates or their expansion)."""
    doc = _document()
    missing = []
    for route in http_routes(function_app.app):
        pattern = _template_regex(route.path)
        for method in route.methods:
            described = [
                p
                for p, ops in doc["paths"].items()
                if pattern.match(p) and ops.get(method.lower(), {}).get("x-function") == route.function
            ]
            if not described:
                missing.append(f"{method} {route.path}")
    assert missing == []


def test_every_described_route_exists() -> None:
    """Each described operation names an indexed function whose route and method match it."""
    by_name = {r.function: r for r in http_routes(function_app.app)}
    wrong = []
    for path, ops in _document()["paths"].items():
        for method, op in ops.items():
            route = by_name.get(op.get("x-function", ""))
            if (
                route is None
                or method.upper() not in route.methods
                or not _template_regex(route.path).match(path)
            ):
                wrong.append(f"{method} {path}")
    assert wrong == []


def test_document_is_openapi_31_with_the_security_schemes() -> None:
    """The document is OpenAPI 3.1, loads in schemathesis, and names the function key and bearer schemes."""
    doc = _document()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["components"]["securitySchemes"]) == {"functionKey", "functionKeyQuery", "entraBearer"}
    schema = schemathesis.openapi.from_dict(doc)
    assert len(list(schema.get_all_operations())) >= len(doc["paths"])


def test_automation_schemas_come_from_their_declarations() -> None:
    """Each automation's request body is its declared input schema; its security is the bearer token."""
    paths = _document()["paths"]
    for a in declared():
        op = paths[f"/automations/{a.name}"]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"] == json.loads(
            json.dumps(a.input_schema)
        )
        assert op["security"] == [{"entraBearer": []}]
        assert {"400", "401", "403"} <= set(op["responses"])


def test_key_routes_need_the_function_key_and_anonymous_ones_none() -> None:
    """Function-level routes list the key schemes; anonymous ones an empty security list or the bearer."""
    levels = {r.function: r.auth_level for r in http_routes(function_app.app)}
    for ops in _document()["paths"].values():
        for op in ops.values():
            if levels[op["x-function"]] == "anonymous":
                assert op["security"] in ([], [{"entraBearer": []}])
            else:
                assert {"functionKey": []} in op["security"]


def test_openapi_route_answers_json() -> None:
    """The openapi function answers 200 application/json with the document."""
    req = func.HttpRequest("GET", "http://127.0.0.1/api/openapi.json", headers={}, params={}, body=b"")
    response = function_app.openapi(req)
    assert response.status_code == 200
    assert json.loads(response.get_body())["paths"]["/health"]["get"]["x-function"] == "health"


def test_route_constraints_become_plain_parameters() -> None:
    """Route constraints and optional markers are dropped from OpenAPI paths."""
    assert openapi_path("runs/{id:int}/{name?}") == ("/runs/{id}/{name}", ("id", "name"))


def test_document_builds_after_the_host_indexed_the_app() -> None:
    """In a fresh process, get_functions() first (as the worker does), then the document still builds."""
    code = (
        "import json, function_app\n"
        "function_app.app.get_functions()\n"
        "from shared.openapi import openapi_document\n"
        "print(len(openapi_document(function_app.app)['paths']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert int(out.stdout.strip().splitlines()[-1]) >= 5
