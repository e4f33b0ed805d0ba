"""The OpenAPI 3.1 document of every HTTP route the app serves, built from the indexed functions
(paths, methods, auth levels, docstrings) and the route declarations (`_docs`), so it cannot drift."""

from __future__ import annotations

from typing import Any

from shared.openapi._docs import PROBLEM_SCHEMA, problem, route_doc
from shared.openapi._index import HttpRoute, http_routes

ROUTE_PREFIX = "/api"
KEY_SECURITY: list[dict[str, list[str]]] = [{"functionKey": []}, {"functionKeyQuery": []}]


def _generic_responses(route: HttpRoute) -> dict[str, Any]:
    out: dict[str, Any] = {
        "2XX": {"description": "Success."},
        "4XX": {"description": "The request is wrong (problem+json)."},
        "5XX": problem("The app or a service it needs failed."),
    }
    if route.auth_level != "anonymous":
        out["401"] = problem("No or wrong function key.")
    return out


def _summary(doc: str, function: str) -> str:
    return doc.splitlines()[0].strip() if doc else function


def _operation(route: HttpRoute, method: str, declared: dict[str, Any] | None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.function if len(route.methods) == 1 else f"{route.function}-{method.lower()}",
        "summary": _summary(route.doc, route.function),
        "x-function": route.function,
    }
    if route.doc and "\n" in route.doc:
        op["description"] = route.doc
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for p in route.parameters
    ]
    if params:
        op["parameters"] = params
    op["security"] = [] if route.auth_level == "anonymous" else KEY_SECURITY
    op["responses"] = _generic_responses(route)
    if declared:
        extra = dict(declared)
        op["parameters"] = [*params, *extra.pop("parameters", [])] or op.get("parameters", [])
        if not op["parameters"]:
            op.pop("parameters")
        responses = extra.pop("responses", None)
        if responses is not None:
            op["responses"] = {**op["responses"], **responses}
        op.update(extra)
    if route.auth_level != "anonymous" and "401" not in op["responses"]:
        op["responses"]["401"] = problem("No or wrong function key.")
    return op


def build(app: Any, *, version: str) -> dict[str, Any]:
    """The document for `app` (a FunctionApp)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in http_routes(app):
        doc = route_doc(route.function)
        if doc is not None and doc.expand is not None:
            for path, operation in doc.expand().items():
                op = {**operation, "x-function": route.function}
                for method in route.methods:
                    paths.setdefault(path, {})[method.lower()] = op
            continue
        for method in route.methods:
            declared = dict(doc.operations.get(method, {})) if doc else None
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, method, declared)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Entra automation functions",
            "version": version,
            "description": "Every HTTP route of the app, from its indexed functions and declarations.",
        },
        "servers": [{"url": ROUTE_PREFIX}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
                "entraBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An Entra access token for the app's API (v1 or v2), validated in code.",
                },
            },
        },
    }
