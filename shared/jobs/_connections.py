"""A job's connection by name: `shared.identity.connection(name)`, imported when a job first needs it."""

from __future__ import annotations

from typing import Any


def open_connection(name: str) -> Any:
    """The connection called `name` (ConfigurationError naming the configured ones when unknown)."""
    from shared.identity import connection

    return connection(name)


def reset() -> None:
    """Forget connections, tokens and clients (tests change settings)."""
    from shared.identity import reset_connections

    reset_connections()
