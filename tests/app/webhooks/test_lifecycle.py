"""Lifecycle notifications end to end: Graph (the emulator) posts them to our receiver on a real
socket, the processor acts on them against Graph: reauthorize, recreate + delta catch-up, resync."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from devstack.azurite import Azurite
from devstack.offline_tenant import OfflineTenant
from shared.webhooks import WebhookEvent, on_graph
from shared.webhooks._subscriptions import subscription_states, sync_subscriptions
from tests.app.webhooks.support import (
    graph_control,
    graph_subscription,
    queue_depth,
    run_queue,
    wait_delivered,
)
from tests.app_env import by_operation, reset_counts


@pytest.fixture
def received(subscribed: Any) -> list[WebhookEvent]:
    events: list[WebhookEvent] = []
    on_graph("users/*")(events.append)
    return events


def _subscription_id() -> str:
    [state] = subscription_states()
    return str(state["id"])


def _lifecycle(devstack: OfflineTenant, sub_id: str, event: str) -> None:
    """Graph posts a lifecycle notification; our receiver stores it (202)."""
    report = graph_control(devstack, "POST", f"subscriptions/{sub_id}/notify", {"lifecycleEvent": event})
    assert report["status"] == 202, report
    assert report["notification"]["value"][0]["lifecycleEvent"] == event


def _delta_subjects(events: list[WebhookEvent]) -> list[str]:
    return sorted(str(e.subject) for e in events if e.raw.get("delta"))


def test_reauthorization_required_reauthorizes_and_renews(
    devstack: OfflineTenant, subscribed: Any, received: list[WebhookEvent]
) -> None:
    """reauthorizationRequired makes the processor call Graph's reauthorize (204), then renew."""
    sync_subscriptions()
    sub_id = _subscription_id()
    _lifecycle(devstack, sub_id, "reauthorizationRequired")
    before = graph_subscription(devstack, sub_id)
    assert before is not None
    assert before["_devstack"]["reauthorizationRequired"] is True
    reset_counts(devstack)
    assert run_queue(subscribed) == {"ok": 1, "failed": 0, "poisoned": 0}
    after = graph_subscription(devstack, sub_id)
    assert after is not None
    assert after["_devstack"]["reauthorizationRequired"] is False
    assert after["_devstack"]["reauthorizedDateTime"]
    calls = by_operation(devstack, "graph")
    assert calls.get("ReauthorizeSubscription") == 1
    assert calls.get("UpdateSubscription") == 1  # renewed after reauthorizing
    assert _subscription_id() == sub_id  # the same subscription, kept


def test_missed_resyncs_with_delta_and_removed_recreates_then_catches_up(
    devstack: OfflineTenant, subscribed: Any, received: list[WebhookEvent]
) -> None:
    """missed → a delta resync stores every user as an event; subscriptionRemoved → a new
    subscription, then delta from the stored link brings exactly the change made meanwhile."""
    sync_subscriptions()
    sub_id = _subscription_id()
    _lifecycle(devstack, sub_id, "missed")
    run_queue(subscribed)  # the lifecycle event: resync stores the delta changes
    run_queue(subscribed)  # the delta changes: one Graph event each
    everyone = {f"users/{u.object_id}" for u in devstack.tenant.users}
    assert set(_delta_subjects(received)) == everyone
    assert len(_delta_subjects(received)) == len(everyone)
    received.clear()
    # Graph removes the subscription; meanwhile one user changes (nobody is notified of it).
    _lifecycle(devstack, sub_id, "subscriptionRemoved")
    assert graph_subscription(devstack, sub_id) is None
    user = devstack.tenant.users[5].object_id
    sent = wait_delivered(devstack)  # the lifecycle notifications so far (batches, logged)
    graph_control(devstack, "POST", "changes", {"resource": "users", "id": user, "changeType": "updated"})
    assert wait_delivered(devstack) == sent  # no subscription left to notify
    run_queue(subscribed)  # the lifecycle event: recreate (Graph validates our URL), delta catch-up
    new_id = _subscription_id()
    assert new_id != sub_id
    assert graph_subscription(devstack, new_id) is not None
    run_queue(subscribed)
    assert _delta_subjects(received) == [f"users/{user}"]


def test_lifecycle_event_refused_while_storage_is_down_is_redelivered_and_acted_on_once(
    devstack: OfflineTenant, azurite: Azurite, subscribed: Any, received: list[WebhookEvent]
) -> None:
    """With Azurite frozen our receiver answers 503; Graph redelivers the missed event after its
    backoff, and the resync it asks for runs once (every user handled exactly once)."""
    sync_subscriptions()
    sub_id = _subscription_id()
    graph_control(devstack, "PUT", "notifications", {"retryBaseS": 1.0})
    os.killpg(azurite.process.pid, signal.SIGSTOP)
    try:
        report = graph_control(
            devstack, "POST", f"subscriptions/{sub_id}/notify", {"lifecycleEvent": "missed"}
        )
    finally:
        os.killpg(azurite.process.pid, signal.SIGCONT)
    assert report["status"] == 503
    deliveries = wait_delivered(devstack)
    assert [d["delivered"] for d in deliveries] == [False, True]
    for _ in range(3):  # the lifecycle event(s), then the changes the resync stored
        run_queue(subscribed)
    subjects = _delta_subjects(received)
    assert set(subjects) == {f"users/{u.object_id}" for u in devstack.tenant.users}
    assert len(subjects) == len(set(subjects))


def test_a_batch_of_lifecycle_events_is_stored_once_and_each_acted_on(
    devstack: OfflineTenant, subscribed: Any, received: list[WebhookEvent]
) -> None:
    """Graph batches the events due together for our URL: one POST, one stored message, and the
    processor acts on each (reauthorize, then the resync `missed` asks for)."""
    sync_subscriptions()
    sub_id = _subscription_id()
    events = [
        {"subscriptionId": sub_id, "lifecycleEvent": "reauthorizationRequired"},
        {"subscriptionId": sub_id, "lifecycleEvent": "missed"},
    ]
    [batch] = graph_control(devstack, "POST", "lifecycle", {"events": events})["batches"]
    assert batch["items"] == 2
    [delivery] = [d for d in wait_delivered(devstack) if d["batchId"] == batch["batchId"]]
    assert (delivery["status"], delivery["items"]) == (202, 2)
    assert queue_depth(subscribed) == 1  # the one message holding both events
    reset_counts(devstack)
    assert run_queue(subscribed)["failed"] == 0  # both events, then the changes the resync stored
    assert by_operation(devstack, "graph").get("ReauthorizeSubscription") == 1
    assert set(_delta_subjects(received)) == {f"users/{u.object_id}" for u in devstack.tenant.users}
