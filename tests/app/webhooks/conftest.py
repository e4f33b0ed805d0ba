"""The webhook tests' environment: the app against the devstack (Key Vault, Entra, Graph) and Azurite."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

import function_app
from devstack.host.auth import HostKeys
from devstack.offline_tenant import OfflineTenant
from shared.identity import reset_connections
from tests.app.webhooks.support import APP_ID, CLIENT_STATE_SECRET, TENANT, graph_control, put_secret
from tests.devstack.graph.support import GRAPH_DELIVERY
from tests.devstack.support import functions_host

KEY = "subscriptions-test-key"


def _reset() -> None:
    from shared.auth import reset_signing_keys
    from shared.webhooks._keys import reset_keys
    from shared.webhooks._registry import reset_registry
    from shared.webhooks._secrets import reset_secrets

    reset_connections()
    reset_secrets()
    reset_keys()
    reset_signing_keys()
    reset_registry()


@pytest.fixture
def webhook_env(devstack: OfflineTenant, storage: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Devstack endpoints, the test's own storage names, the seeded app as the Graph app; the account."""
    for name, value in devstack.app_settings().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEBHOOKS_GRAPH_APP_ID", APP_ID)
    monkeypatch.setenv("WEBHOOKS_GRAPH_TENANT_ID", TENANT)
    _reset()
    yield storage
    _reset()


def _receiver_app() -> func.FunctionApp:
    """The Graph and Event Grid receivers, exactly as function_app defines them, for senders to call."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="webhooks/graph", methods=["POST"])
    def graph(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        response: func.HttpResponse = function_app.webhooks_graph(req, context)
        return response

    @app.route(route="webhooks/eventgrid", methods=["POST", "OPTIONS"])
    def eventgrid(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        response: func.HttpResponse = function_app.webhooks_eventgrid(req, context)
        return response

    return app


@pytest.fixture(scope="module")
def receiver_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Our Graph receiver's URL on the local Functions host, a real socket (Event Grid's is beside it)."""
    root = Path(tmp_path_factory.mktemp("subs-host"))
    keys = HostKeys(function_key=KEY, master_key=KEY + "-master")
    with functions_host(_receiver_app(), root, keys) as host:
        yield f"{host.base_url}/webhooks/graph?code={KEY}"


def _fresh_graph(devstack: OfflineTenant) -> None:
    graph_control(devstack, "DELETE", "subscriptions")
    graph_control(devstack, "DELETE", "notifications")
    graph_control(devstack, "PUT", "notifications", GRAPH_DELIVERY)


@pytest.fixture
def subscribed(
    devstack: OfflineTenant, webhook_env: Any, receiver_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The subscriptions job configured (users, updated/deleted) against the Graph emulator, which
    starts and ends with no subscriptions, no queued notifications and Graph's delivery settings."""
    state = devstack.state()
    for name, value in {
        "CONNECTIONS__GRAPH_CERT__CREDENTIAL": "certificate",
        "CONNECTIONS__GRAPH_CERT__TENANT_ID": state["tenantId"],
        "CONNECTIONS__GRAPH_CERT__CLIENT_ID": state["app"]["clientId"],
        "CONNECTIONS__GRAPH_CERT__CERTIFICATE": state["app"]["certificateName"],
        "WEBHOOKS_GRAPH_CONNECTION": "graph_cert",
        "WEBHOOKS_GRAPH_NOTIFICATION_URL": receiver_url,
        "WEBHOOKS_GRAPH_SUBSCRIPTIONS": json.dumps([{"resource": "users", "changeType": "updated,deleted"}]),
    }.items():
        monkeypatch.setenv(name, value)
    put_secret(devstack, CLIENT_STATE_SECRET, "subs-" + uuid.uuid4().hex)
    _fresh_graph(devstack)
    yield webhook_env
    _fresh_graph(devstack)
