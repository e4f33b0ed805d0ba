"""The subscriptions job against the Graph emulator: create (with the validation handshake through our
receiver on a real socket), renew before expiry, recreate when gone; lifetimes per resource."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

import function_app
from devstack.host.auth import HostKeys
from devstack.host.indexing import index_app
from devstack.host.runtime import FunctionsHost
from devstack.host.settings import HostConfig
from devstack.offline_tenant import OfflineTenant
from shared.webhooks._subscriptions import (
    PARTITION,
    TABLE,
    Declaration,
    max_lifetime,
    needs_renewal,
    subscription_states,
    sync_subscriptions,
)
from tests.app.webhooks.support import CLIENT_STATE_SECRET, put_secret

KEY = "subscriptions-test-key"


def _receiver_app() -> func.FunctionApp:
    """Only the Graph receiver, exactly as function_app defines it, for the emulator to call."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="webhooks/graph", methods=["POST"])
    def graph(req: func.HttpRequest) -> func.HttpResponse:
        response: func.HttpResponse = function_app.webhooks_graph(req)
        return response

    return app


@pytest.fixture(scope="module")
def receiver_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    host = FunctionsHost(
        index_app(_receiver_app()),
        root=Path(tmp_path_factory.mktemp("subs-host")),
        environ={},
        config=HostConfig(),
        keys=HostKeys(function_key=KEY, master_key=KEY + "-master"),
        port=0,
    )
    host.start()
    try:
        yield f"{host.base_url}/webhooks/graph?code={KEY}"
    finally:
        host.stop()


@pytest.fixture
def subscribed(
    devstack: OfflineTenant, webhook_env: Any, receiver_url: str, monkeypatch: pytest.MonkeyPatch
) -> Any:
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
    return webhook_env


def _graph_subscription(devstack: OfflineTenant, sub_id: str) -> dict[str, Any] | None:
    """The subscription as Graph holds it (the emulator's control endpoint lists every one)."""
    from tests.conftest import tls_session

    with tls_session(devstack.state()["caBundle"]) as s:
        body = s.get(f"{devstack.servers['graph'].url}/_devstack/subscriptions", timeout=10).json()
    items = body.get("value", body) if isinstance(body, dict) else body
    return next((x for x in items if x["id"] == sub_id), None)


def _expiry(sub: dict[str, Any] | None) -> datetime:
    assert sub is not None
    return datetime.fromisoformat(str(sub["expirationDateTime"]).replace("Z", "+00:00")[:26] + "+00:00")


def test_declared_subscription_is_created_renewed_and_recreated(
    devstack: OfflineTenant, subscribed: Any
) -> None:
    """The job creates it (Graph validated our URL), renews it when half-expired, recreates it when gone."""
    assert sync_subscriptions()["created"] == 1
    [state] = subscription_states()
    sub = _graph_subscription(devstack, state["id"])
    assert sub is not None
    assert sub["resource"] == "users"
    assert sub["lifecycleNotificationUrl"] == sub["notificationUrl"]
    assert sync_subscriptions()["kept"] == 1  # far from expiry: nothing to do
    # Half its lifetime gone (written as the state a month-old subscription would have):
    decl = Declaration("users", "updated,deleted")
    soon = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    subscribed.upsert(TABLE, {"PartitionKey": PARTITION, "RowKey": decl.key, "expiration": soon})
    assert sync_subscriptions()["renewed"] == 1
    assert _expiry(_graph_subscription(devstack, state["id"])) > datetime.now(UTC) + timedelta(days=28)
    # Deleted on Graph's side: the next renewal finds 404 and creates a new one.
    from shared.identity import connection

    connection("graph_cert").graph.delete(f"/subscriptions/{state['id']}")
    subscribed.upsert(TABLE, {"PartitionKey": PARTITION, "RowKey": decl.key, "expiration": soon})
    sync_subscriptions()
    [again] = subscription_states()
    assert again["id"] != state["id"]
    assert _graph_subscription(devstack, again["id"]) is not None


@pytest.mark.parametrize(
    ("resource", "minutes"),
    [
        ("users", 41760),
        ("groups", 41760),
        ("users/abc/messages", 4230),
        ("me/messages", 4230),
        ("teams/x/channels", 4320),
        ("communications/presences", 60),
        ("security/alerts", 43200),
        ("drives/d/root", 42300),
    ],
)
def test_lifetimes_follow_graph_maximums(resource: str, minutes: int) -> None:
    """Each resource gets Graph's maximum lifetime, and renewal starts once half of it is gone."""
    assert max_lifetime(resource) == timedelta(minutes=minutes)
    now = datetime.now(UTC)
    assert not needs_renewal(now + timedelta(minutes=minutes), resource, now)
    assert needs_renewal(now + timedelta(minutes=minutes) / 2 - timedelta(seconds=1), resource, now)
