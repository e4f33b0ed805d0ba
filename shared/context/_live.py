"""The report's link to the real connections and the current cloud (kept apart for tests)."""

from __future__ import annotations

from collections.abc import Callable

from shared.config import get_settings
from shared.context._connection import ConnectionLike
from shared.context._probe import probe_graph


def live_connections() -> tuple[Callable[[], list[str]], Callable[[str], ConnectionLike]]:
    """shared.connections' `connection_names` and `get_connection` (imported on first report)."""
    from shared.connections import connection_names, get_connection

    return connection_names, get_connection


__all__ = ["live_connections", "probe_graph", "scope_for_resource"]


def scope_for_resource(resource: str) -> str:
    """The `.default` scope of a logical resource (`graph`, `arm`, `exchange`) in this cloud, or a URI's.

    The cloud's canonical resource: GRAPH_URL / ARM_URL overrides move requests, not audiences.
    """
    return get_settings().cloud.scope(resource)
