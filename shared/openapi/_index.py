"""The app's HTTP routes, read from the indexed functions (what the host serves), not a hand list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_CONSTRAINT = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}?=]*)?(\?|=[^}]*)?\}")


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP function: its name, route template (OpenAPI form), methods, auth level, docstring."""

    function: str
    path: str  # "/automations/{name}", under the route prefix
    methods: tuple[str, ...]
    auth_level: str  # anonymous | function | admin
    doc: str
    parameters: tuple[str, ...]


def _name(value: object) -> str:
    return str(getattr(value, "value", value)).lower().rsplit(".", 1)[-1]


def openapi_path(route: str) -> tuple[str, tuple[str, ...]]:
    """`automations/{name:alpha}` -> (`/automations/{name}`, ("name",)): constraints dropped."""
    names: list[str] = []

    def plain(m: re.Match[str]) -> str:
        names.append(m.group(2))
        return "{" + m.group(2) + "}"

    return "/" + _CONSTRAINT.sub(plain, route.strip("/")), tuple(names)


def _functions(app: Any) -> list[Any]:
    # get_functions() may run once per app (the worker or the host already did; a second call
    # raises), so the function objects are read from the builders it would build from.
    builders = getattr(app, "_function_builders", None)
    if builders is None:
        return list(app.get_functions())
    return [b._function for b in builders]


def http_routes(app: Any) -> list[HttpRoute]:
    """Every HTTP-triggered function of `app`, in declaration order."""
    routes: list[HttpRoute] = []
    default_level = _name(getattr(app, "auth_level", "function") or "function")
    for function in _functions(app):
        trigger = function.get_trigger()
        data = trigger.get_dict_repr()
        if data.get("type") != "httpTrigger":
            continue
        name = str(function.get_function_name())
        path, params = openapi_path(str(data.get("route") or name))
        methods = tuple(_name(m).upper() for m in (data.get("methods") or ["GET", "POST"]))
        level = _name(data.get("authLevel") or default_level)
        user = function.get_user_function()
        doc = (getattr(user, "__doc__", None) or "").strip()
        routes.append(HttpRoute(name, path, methods, level, doc, params))
    return routes
