"""A job's connection by name: `shared.identity.connection(name)` (its public face).

Until that face is on every branch, the same surface (`.name`, `.token(resource)` with `.value`
/ `.claims`, `.graph`) is built here from `shared.connections` and `shared.graph`; the engine
and the jobs only use that surface, so the switch is this file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

_lock = threading.Lock()
_interim: dict[str, _Interim] = {}


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_on: int
    claims: dict[str, Any]


class _Interim:
    """`shared.connections.Connection` with the public face's method names."""

    def __init__(self, name: str) -> None:
        from shared.connections import get_connection

        self.name = name
        self._connection = get_connection(name)
        self._graph: Any = None

    def _resource(self, resource: str) -> str:
        from shared.config import get_settings

        return resource if "://" in resource else get_settings().cloud.resource(resource)

    def token(self, resource: str) -> _Token:
        info = self._connection.get_token(self._resource(resource))
        return _Token(info.token, info.expires_on, dict(info.claims))

    @property
    def graph(self) -> Any:
        if self._graph is None:
            from shared.config import get_settings
            from shared.graph import GraphClient

            self._graph = GraphClient(
                token=lambda: self.token("graph").value, base_url=get_settings().cloud.graph_url
            )
        return self._graph


def open_connection(name: str) -> Any:
    """The connection called `name` (ConfigurationError naming the configured ones when unknown)."""
    from shared import identity

    public = getattr(identity, "connection", None)
    if public is not None:
        return public(name)
    key = name.lower()
    with _lock:
        found = _interim.get(key)
        if found is None:
            found = _interim[key] = _Interim(key)
        return found


def reset() -> None:
    """Forget interim connections (tests change settings)."""
    with _lock:
        _interim.clear()
