"""Automations as data: a name, an input schema, who may call it and how it runs.

Declared where they are defined (`@automation(...)` at import time, no SDK import), read by
the route (`POST /api/automations/{name}`) and by the OpenAPI document, so they cannot drift.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.automations._settings import CONNECTION
from shared.permissions import GRAPH, SETTING_NAMED, require

if TYPE_CHECKING:
    from shared.automations._invocation import Invocation

Handler = Callable[["Invocation"], Mapping[str, Any]]


class RunAs(enum.Enum):
    """APP: with the connection's own token (the caller authorised by role); CALLER: on-behalf-of."""

    APP = "app"
    CALLER = "caller"


@dataclass(frozen=True)
class Automation:
    """One automation.

    Callers: a user needs one of `scopes` in `scp` (when any are declared) and, when `roles` are
    declared, one of them in `roles` (app roles assigned to the user); an application needs
    one of `roles` and may call only `RunAs.APP` automations (on-behalf-of needs a user).
    """

    name: str
    summary: str
    handler: Handler
    input_schema: Mapping[str, Any]
    output_schema: Mapping[str, Any]
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    run_as: RunAs = RunAs.APP
    long_running: bool = False
    graph_permissions: frozenset[str] = field(default_factory=frozenset)  # what the connection needs

    def __post_init__(self) -> None:
        if self.long_running and self.run_as is RunAs.CALLER:
            # A queued run would have to store the caller's token; tokens are never stored.
            raise ValueError(f"automation '{self.name}': long-running automations run as the app")
        if not self.roles and not self.scopes:
            raise ValueError(f"automation '{self.name}' must require a role or a scope")

    @property
    def allows_apps(self) -> bool:
        return self.run_as is RunAs.APP and bool(self.roles)


_lock = threading.Lock()
_registry: dict[str, Automation] = {}


def register(declared: Automation) -> Automation:
    """Add an automation; a second one with the same name is a bug.

    An automation that runs as the app declares its Graph application permissions on the
    automations' connection, so `/api/context` names a missing one before a call fails. (On behalf
    of a caller, the permissions are delegated: the caller's token carries them.)
    """
    with _lock:
        if declared.name in _registry and _registry[declared.name] is not declared:
            raise ValueError(f"automation '{declared.name}' is declared twice")
        _registry[declared.name] = declared
    if declared.run_as is RunAs.APP and declared.graph_permissions:
        require(
            SETTING_NAMED + CONNECTION,
            GRAPH,
            roles=declared.graph_permissions,
            by=f"automation:{declared.name}",
        )
    return declared


def automation(
    name: str,
    *,
    summary: str,
    input_schema: Mapping[str, Any],
    output_schema: Mapping[str, Any],
    roles: set[str] | frozenset[str] = frozenset(),
    scopes: set[str] | frozenset[str] = frozenset(),
    run_as: RunAs = RunAs.APP,
    long_running: bool = False,
    graph_permissions: set[str] | frozenset[str] = frozenset(),
) -> Callable[[Handler], Handler]:
    """Decorator: declare the function as the automation `name`."""

    def decorate(handler: Handler) -> Handler:
        register(
            Automation(
                name=name,
                summary=summary,
                handler=handler,
                input_schema=input_schema,
                output_schema=output_schema,
                roles=frozenset(roles),
                scopes=frozenset(scopes),
                run_as=run_as,
                long_running=long_running,
                graph_permissions=frozenset(graph_permissions),
            )
        )
        return handler

    return decorate


def declared() -> list[Automation]:
    """Every declared automation, built-ins included, by name."""
    from shared.automations import builtins  # noqa: F401 - registers the built-ins

    with _lock:
        return [_registry[n] for n in sorted(_registry)]


def find(name: str) -> Automation | None:
    return next((a for a in declared() if a.name == name), None)
