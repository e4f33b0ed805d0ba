"""What the index cannot know about a route: its parameters, body and answers (declared as data).

Routes without a declaration are still described (path, methods, auth, summary from the
handler's docstring) with generic answers; a declaration makes them precise. Declarations
are plain dicts, registered at import time by the module that owns the route (or here, for
the routes whose owners have none yet).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}


def problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM_REF}}}


def json_response(description: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": dict(schema or {})}}}


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# An operation: {"summary", "parameters", "requestBody", "responses", "security"}; `expand` turns
# one route template into several concrete paths (one per automation).
Operation = dict[str, Any]
Expander = Callable[[], Mapping[str, Operation]]


@dataclass(frozen=True)
class RouteDoc:
    function: str
    operations: Mapping[str, Operation] = field(default_factory=dict)  # by HTTP method (upper case)
    expand: Expander | None = None  # concrete path (under the route prefix) -> the POST operation


_lock = threading.Lock()
_docs: dict[str, RouteDoc] = {}


def document(function: str, *, expand: Expander | None = None, **operations: Operation) -> None:
    """Declare the OpenAPI operations of the function `function` (by method: get=..., post=...)."""
    with _lock:
        _docs[function] = RouteDoc(function, {m.upper(): op for m, op in operations.items()}, expand)


def route_doc(function: str) -> RouteDoc | None:
    with _lock:
        return _docs.get(function)
