"""The subscriptions job against the Graph emulator: create (with the validation handshake through our
receiver on a real socket), renew before expiry, recreate when gone; lifetimes per resource."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

import function_app
from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.runs import Kind, Ledger, Status
from shared.webhooks._ledger import EventLog
from shared.webhooks._subscriptions import (
    PARTITION,
    TABLE,
    Declaration,
    max_lifetime,
    needs_renewal,
    subscription_states,
    sync_subscriptions,
)
from tests.app.webhooks.support import (
    CLIENT_STATE_SECRET,
    graph_subscription,
    notification,
    run_queue,
    secret_value,
)
from tests.devstack.support import http_context


def _expiry(sub: dict[str, Any] | None) -> datetime:
    assert sub is not None
    return datetime.fromisoformat(str(sub["expirationDateTime"]).replace("Z", "+00:00")[:26] + "+00:00")


def test_declared_subscription_is_created_renewed_and_recreated(
    devstack: OfflineTenant, subscribed: Any
) -> None:
    """The job creates it (Graph validated our URL), renews it when half-expired, recreates it when gone."""
    assert sync_subscriptions()["created"] == 1
    [state] = subscription_states()
    sub = graph_subscription(devstack, state["id"])
    assert sub is not None
    assert sub["resource"] == "users"
    assert sub["lifecycleNotificationUrl"] == sub["notificationUrl"]
    assert sync_subscriptions()["kept"] == 1  # far from expiry: nothing to do
    # Half its lifetime gone (written as the state a month-old subscription would have):
    decl = Declaration("users", "updated,deleted")
    soon = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    subscribed.upsert(TABLE, {"PartitionKey": PARTITION, "RowKey": decl.key, "expiration": soon})
    assert sync_subscriptions()["renewed"] == 1
    assert _expiry(graph_subscription(devstack, state["id"])) > datetime.now(UTC) + timedelta(days=28)
    # Deleted on Graph's side: the next renewal finds 404 and creates a new one.
    from shared.identity import connection

    connection("graph_cert").graph.delete(f"/subscriptions/{state['id']}")
    subscribed.upsert(TABLE, {"PartitionKey": PARTITION, "RowKey": decl.key, "expiration": soon})
    sync_subscriptions()
    [again] = subscription_states()
    assert again["id"] != state["id"]
    assert graph_subscription(devstack, again["id"]) is not None


def _overview() -> dict[str, Any]:
    req = func.HttpRequest("GET", "http://localhost/api/webhooks", headers={}, params={}, body=b"")
    response: func.HttpResponse = function_app.webhooks_overview(req)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = json.loads(response.get_body())
    return body


def test_api_webhooks_shows_id_resource_expiry_and_last_notification(
    devstack: OfflineTenant, subscribed: Any
) -> None:
    """GET /api/webhooks lists the subscription's id, resource and expiry, then when it last notified."""
    sync_subscriptions()
    [shown] = _overview()["subscriptions"]
    sub = graph_subscription(devstack, shown["id"])
    assert sub is not None
    assert (shown["resource"], shown["lastNotification"]) == ("users", None)
    assert _expiry({"expirationDateTime": shown["expiration"]}) == _expiry(sub)
    client_state = secret_value(devstack, CLIENT_STATE_SECRET)
    body = {"value": [{**notification(client_state=client_state), "subscriptionId": shown["id"]}]}
    req = func.HttpRequest(
        "POST",
        "http://localhost/api/webhooks/graph",
        headers={"Content-Type": "application/json"},
        params={},
        body=json.dumps(body).encode(),
    )
    assert function_app.webhooks_graph(req, http_context()).status_code == 202
    run_queue(subscribed)
    [seen] = _overview()["subscriptions"]
    assert seen["id"] == shown["id"]
    assert seen["lastNotification"] is not None
    assert datetime.fromisoformat(str(seen["lastNotification"]).replace("Z", "+00:00")) > datetime.now(
        UTC
    ) - timedelta(minutes=5)
    assert client_state not in json.dumps(_overview())


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


def test_the_job_purges_events_past_the_retention_setting(
    webhook_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events older than WEBHOOKS_RETENTION_DAYS go at the next sync; newer events and job runs stay."""
    monkeypatch.setenv("WEBHOOKS_RETENTION_DAYS", "7")
    runs = Ledger(webhook_env)
    with clock.use(clock.ManualClock(clock.now() - timedelta(days=8))):
        old = runs.new(Kind.WEBHOOK, "standard", trigger="http", status=Status.SUCCEEDED)
        old_job = runs.new(Kind.JOB, "nightly", trigger="timer", status=Status.SUCCEEDED)
        runs.record(old)
        runs.record(old_job)
    recent = runs.new(Kind.WEBHOOK, "standard", trigger="http", status=Status.SUCCEEDED)
    runs.record(recent)
    assert sync_subscriptions()["purged"] == 1
    assert EventLog().get("standard", old.id) is None
    assert EventLog().get("standard", recent.id) is not None
    assert runs.get(Kind.JOB, "nightly", old_job.id) is not None  # the runs-retention job's business
