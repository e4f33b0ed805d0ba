"""Graph's lifecycle notifications, batched as Graph does: one POST per URL for the events due together."""

from __future__ import annotations

from typing import Any

import requests

from devstack.offline_tenant import OfflineTenant
from tests.devstack.graph.support import Subscriber, subscription

# What a lifecycle notification holds (learn.microsoft.com/graph/change-notifications-lifecycle-events):
# the subscription and the event, nothing about a resource.
LIFECYCLE_FIELDS = {
    "subscriptionId",
    "subscriptionExpirationDateTime",
    "tenantId",
    "clientState",
    "lifecycleEvent",
}


def _subscribe(api: requests.Session, graph: str, url: str, lifecycle_url: str) -> dict[str, Any]:
    created = api.post(
        f"{graph}/subscriptions", json=subscription(url, lifecycleNotificationUrl=lifecycle_url)
    )
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def _due(api: requests.Session, graph_base: str, *events: tuple[str, str]) -> requests.Response:
    body = {"events": [{"subscriptionId": sub_id, "lifecycleEvent": event} for sub_id, event in events]}
    return api.post(f"{graph_base}/_devstack/lifecycle", json=body)


def _deliveries(api: requests.Session, graph_base: str) -> list[dict[str, Any]]:
    body = api.get(f"{graph_base}/_devstack/notifications", params={"wait": "10"}).json()
    assert body["idle"] is True
    deliveries: list[dict[str, Any]] = body["deliveries"]
    return deliveries


def test_events_due_together_for_one_url_are_one_post(
    devstack: OfflineTenant, api: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """Three subscriptions' events for one lifecycle URL arrive as one `value` array, each item the
    subscription, its expiry, tenant, clientState and event; Graph acts on each event."""
    lifecycle_url = f"{subscriber.url}?lifecycle=1"
    subs = [_subscribe(api, graph, subscriber.url, lifecycle_url) for _ in range(3)]
    events = [
        (subs[0]["id"], "reauthorizationRequired"),
        (subs[1]["id"], "missed"),
        (subs[2]["id"], "subscriptionRemoved"),
    ]
    answer = _due(api, graph_base, *events)
    assert answer.status_code == 202
    [queued] = answer.json()["batches"]
    assert queued["url"] == lifecycle_url
    assert queued["subscriptionIds"] == sorted(s["id"] for s in subs)
    [post] = subscriber.wait_for(1)
    items = post["value"]
    assert [(i["subscriptionId"], i["lifecycleEvent"]) for i in items] == events
    for item, sub in zip(items, subs, strict=True):
        assert set(item) == LIFECYCLE_FIELDS
        assert item["clientState"] == "s3cret-state"
        assert item["tenantId"] == devstack.tenant.tenant_id
        assert item["subscriptionExpirationDateTime"][:19] == sub["expirationDateTime"][:19]
    assert "validationTokens" not in post
    [delivery] = _deliveries(api, graph_base)
    assert (delivery["url"], delivery["items"], delivery["status"]) == (lifecycle_url, 3, 202)
    assert api.get(f"{graph}/subscriptions/{subs[2]['id']}").status_code == 404  # removed
    listed = {s["id"]: s for s in api.get(f"{graph_base}/_devstack/subscriptions").json()["value"]}
    assert listed[subs[0]["id"]]["_devstack"]["reauthorizationRequired"] is True
    assert listed[subs[1]["id"]]["_devstack"]["reauthorizationRequired"] is False


def test_batches_are_per_lifecycle_url_and_apart_from_change_notifications(
    devstack: OfflineTenant, api: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """Events for two lifecycle URLs are two POSTs; a change due at the same URL is a POST of its own."""
    first = _subscribe(api, graph, subscriber.url, f"{subscriber.url}?lifecycle=1")
    second = _subscribe(api, graph, subscriber.url, f"{subscriber.url}?lifecycle=2")
    same = _subscribe(api, graph, subscriber.url, subscriber.url)  # lifecycle URL = notification URL
    answer = _due(
        api,
        graph_base,
        (first["id"], "missed"),
        (second["id"], "missed"),
        (same["id"], "reauthorizationRequired"),
    )
    assert answer.status_code == 202
    assert len(answer.json()["batches"]) == 3
    change = {"changeType": "updated", "resourceId": devstack.tenant.users[0].object_id}
    assert (
        api.post(f"{graph_base}/_devstack/subscriptions/{same['id']}/notify", json=change).status_code == 200
    )
    posts = subscriber.wait_for(4)
    assert len(posts) == 4
    for post in posts:
        kinds = {"lifecycle" if "lifecycleEvent" in i else "change" for i in post["value"]}
        assert len(kinds) == 1  # never mixed in one POST
    by_url = {(d["url"], d["items"]) for d in _deliveries(api, graph_base)}
    assert by_url == {
        (f"{subscriber.url}?lifecycle=1", 1),
        (f"{subscriber.url}?lifecycle=2", 1),
        (subscriber.url, 1),
    }


def test_notify_reports_the_batch_its_lifecycle_event_joined(
    api: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """The notify control's lifecycle event goes out in the batch for its URL and reports that POST."""
    lifecycle_url = f"{subscriber.url}?lifecycle=1"
    sub = _subscribe(api, graph, subscriber.url, lifecycle_url)
    report = api.post(
        f"{graph_base}/_devstack/subscriptions/{sub['id']}/notify", json={"lifecycleEvent": "missed"}
    ).json()
    assert (report["url"], report["status"], report["error"]) == (lifecycle_url, 202, None)
    assert report["notification"] == subscriber.wait_for(1)[0]
    assert [i["lifecycleEvent"] for i in report["notification"]["value"]] == ["missed"]


def test_bad_lifecycle_requests_queue_nothing(
    api: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """An unknown subscription (404), an unknown event or a malformed body (400) queue no event at all."""
    sub = _subscribe(api, graph, subscriber.url, subscriber.url)
    assert _due(api, graph_base, (sub["id"], "missed"), ("no-such-id", "missed")).status_code == 404
    assert _due(api, graph_base, (sub["id"], "missed"), (sub["id"], "expired")).status_code == 400
    bad: list[dict[str, Any]] = [
        {"events": []},
        {"events": [{"subscriptionId": sub["id"]}]},
        {"events": "x"},
        {},
    ]
    for body in bad:
        answer = api.post(f"{graph_base}/_devstack/lifecycle", json=body)
        assert answer.status_code == 400
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert _deliveries(api, graph_base) == []
    assert subscriber.received == []
