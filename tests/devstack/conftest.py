"""Fixtures for the devstack tests: a local Functions host on a real socket, with known keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import pytest

from devstack.host.auth import HostKeys
from devstack.host.settings import HostConfig
from tests.devstack.support import FUNCTION_KEY, MASTER_KEY, functions_host

HOST_BODY_LIMIT = 64 * 1024


def _echo_app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="echo", methods=["GET", "POST", "PUT"])
    def echo(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(f"{req.method} {len(req.get_body())}", status_code=200)

    @app.route(route="open", auth_level=func.AuthLevel.ANONYMOUS)
    def open_route(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("open")

    return app


@pytest.fixture(scope="session")
def host_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A FunctionsHost serving `echo` (function key) and `open` (anonymous) on 127.0.0.1."""
    root = Path(tmp_path_factory.mktemp("host"))
    keys = HostKeys(function_key=FUNCTION_KEY, master_key=MASTER_KEY)
    with functions_host(_echo_app(), root, keys, HostConfig(body_limit=HOST_BODY_LIMIT)) as host:
        yield f"http://127.0.0.1:{host.port}"
