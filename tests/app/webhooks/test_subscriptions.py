"""The subscriptions job against the Graph emulator: create (with the validation handshake through our
receiver on a real socket), renew before expiry, recreate when gone; lifetimes per resource."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

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
from tests.app.webhooks.support import graph_subscription


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
