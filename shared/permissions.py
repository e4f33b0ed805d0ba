"""What the app's code needs from each connection, declared as data in one registry.

A job or route declares its needs where it is defined, at import time:

    require("graph-cert", GRAPH, roles={"User.Read.All"}, by="job:stale-guests")

(`GRAPH` is the logical name of Microsoft Graph in whichever cloud the app runs; a URI such
as `https://graph.microsoft.com` means the same.)

and `GET /api/context` compares them with the roles (or scopes) in the connection's token:
granted, missing (required, not granted) and unused (granted, required by nothing: least
privilege says remove them). `connection="*"` means every configured connection;
`connection="$SETTING"` means the connection that the app setting SETTING names, read when the
report is made (the automations declare theirs as `$AUTOMATIONS__CONNECTION`).

Declarations are data, registered at import: a job, webhook or automation module calls
`require(...)` at module level and keeps its SDK imports inside the functions that run, and
function_app imports that module to register its triggers. So every role is known to
`/api/context` as soon as the app is indexed, and the cold import stays light (this module
imports nothing heavy). tests/app/test_cold_start.py finds every module-level `require(...)`
under shared/ and fails if function_app does not load it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.clouds import ARM, CLOUDS, EXCHANGE, GRAPH

# Logical resource names (shared.clouds): the same declaration holds in every cloud (and in the
# devstack), whose Graph, ARM and Exchange URIs differ. Any other resource is named by its URI.
EVERY_CONNECTION = "*"
# `$NAME`: the connection named by app setting NAME (docs/contract.md).
SETTING_NAMED = "$"

__all__ = [
    "ARM",
    "EVERY_CONNECTION",
    "EXCHANGE",
    "GRAPH",
    "SETTING_NAMED",
    "PermissionRegistry",
    "Requirement",
    "RoleDiff",
    "compare",
    "normalize_resource",
    "registry",
    "require",
]

_ALIASES = {
    **{
        uri: name
        for cloud in CLOUDS.values()
        for name in (GRAPH, ARM, EXCHANGE)
        for uri in [cloud.resource(name)]
    },
    "https://management.core.windows.net": ARM,  # ARM's older resource URI, still accepted
    "00000003-0000-0000-c000-000000000000": GRAPH,
    "00000002-0000-0ff1-ce00-000000000000": EXCHANGE,
}


@dataclass(frozen=True)
class Requirement:
    """Roles one piece of code (`by`) needs on one resource through one connection."""

    connection: str
    resource: str
    roles: frozenset[str]
    by: str


@dataclass(frozen=True)
class RoleDiff:
    """Granted roles set against required ones; `required` maps each role to who needs it."""

    granted: tuple[str, ...]
    required: Mapping[str, tuple[str, ...]]
    missing: tuple[str, ...]
    unused: tuple[str, ...]


def normalize_resource(resource: str) -> str:
    """A logical name for the known APIs of any cloud (`graph`, `arm`, `exchange`), else the URI.

    `https://graph.microsoft.com/.default`, a trailing slash and any case name the same resource.
    """
    uri = resource.strip().removesuffix("/.default").rstrip("/").lower()
    return _ALIASES.get(uri, uri)


def _satisfies(granted: str, required: str) -> bool:
    # Graph's X.ReadWrite.All includes X.Read.All; no other implication is assumed.
    return granted == required or granted == required.replace(".Read.", ".ReadWrite.", 1)


def compare(granted: Iterable[str], required: Mapping[str, Iterable[str]]) -> RoleDiff:
    """Diff granted roles with required ones (role -> the code that needs it)."""
    have = sorted(set(granted))
    need = {role: tuple(sorted(set(by))) for role, by in sorted(required.items())}
    missing = tuple(r for r in need if not any(_satisfies(g, r) for g in have))
    unused = tuple(g for g in have if not any(_satisfies(g, r) for r in need))
    return RoleDiff(granted=tuple(have), required=need, missing=missing, unused=unused)


class PermissionRegistry:
    """The declared requirements; thread-safe because declarations happen at import time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Requirement] = []

    def require(self, connection: str, resource: str, *, roles: Iterable[str], by: str) -> Requirement:
        """Declare that `by` needs `roles` on `resource` through `connection` (idempotent)."""
        wanted = frozenset(r.strip() for r in roles if r.strip())
        if not connection or not by or not wanted:
            raise ValueError("require() needs a connection name, a resource, roles and `by`")
        item = Requirement(connection.lower(), normalize_resource(resource), wanted, by)
        with self._lock:
            if item not in self._items:
                self._items.append(item)
        return item

    def withdraw(self, item: Requirement) -> None:
        """Remove one declaration (for tests and for code that is unloaded)."""
        with self._lock:
            if item in self._items:
                self._items.remove(item)

    def for_connection(self, name: str) -> dict[str, dict[str, tuple[str, ...]]]:
        """resource -> role -> who requires it, for `name` (declarations for `*` included)."""
        key = name.lower()
        out: dict[str, dict[str, set[str]]] = {}
        with self._lock:
            items = list(self._items)
        for item in items:
            if _named(item.connection) in (key, EVERY_CONNECTION):
                roles = out.setdefault(item.resource, {})
                for role in item.roles:
                    roles.setdefault(role, set()).add(item.by)
        return {res: {r: tuple(sorted(b)) for r, b in roles.items()} for res, roles in out.items()}

    def declared_connections(self) -> set[str]:
        """Connection names code refers to (to flag a requirement for a connection not configured)."""
        with self._lock:
            named = {_named(i.connection) for i in self._items}
        return named - {EVERY_CONNECTION, ""}


def _named(connection: str) -> str:
    """The connection a declaration is for: `$SETTING` is read from the environment now."""
    if connection.startswith(SETTING_NAMED):
        return os.environ.get(connection[1:].upper(), "").strip().lower()
    return connection


registry = PermissionRegistry()
require = registry.require
