"""Each emulator's app served a second time over plain http, so a test can half-close its socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.core.server import serve
from devstack.offline_tenant import OfflineTenant

TARGETS = ("identity", "entra", "keyvault", "graph", "host")


@pytest.fixture(scope="session")
def plain_urls(devstack: OfflineTenant, host_url: str) -> Iterator[dict[str, str]]:
    """name -> http URL: the emulators' very apps (same tenant) and the host, all without TLS."""
    servers = {name: serve(app, ssl_context=None, name=name) for name, app in devstack.emulators.items()}
    try:
        yield {**{name: s.url for name, s in servers.items()}, "host": host_url}
    finally:
        for s in servers.values():
            s.stop()
