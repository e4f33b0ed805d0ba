"""The processor and the event log: retries, poison with its error, Event Grid events, operator routes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest

import function_app
from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.runs import Kind, Ledger, Status
from shared.webhooks import WebhookEvent, on_eventgrid
from tests.app.webhooks.support import (
    CLIENT_STATE_SECRET,
    notification,
    put_secret,
    queue_depth,
    run_queue,
    storage_down,
)
from tests.devstack.support import http_context


def _eventgrid(events: list[dict[str, Any]], content_type: str = "application/json") -> func.HttpResponse:
    req = func.HttpRequest(
        "POST",
        "http://localhost/api/webhooks/eventgrid",
        headers={"Content-Type": content_type, "aeg-event-type": "Notification"},
        params={},
        route_params={},
        body=json.dumps(events).encode(),
    )
    response: func.HttpResponse = function_app.webhooks_eventgrid(req, http_context())
    return response


def _event(i: int, event_type: str = "Microsoft.Storage.BlobCreated") -> dict[str, Any]:
    return {
        "id": f"{uuid.uuid4()}-{i}",
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
        "subject": f"/blobServices/default/containers/c/blobs/b{i}",
        "eventType": event_type,
        "eventTime": "2026-12-01T10:00:00Z",
        "data": {"n": i},
        "dataVersion": "1",
    }


def _get(
    route: str, params: dict[str, str] | None = None, route_params: dict[str, str] | None = None
) -> tuple[int, Any]:
    req = func.HttpRequest(
        "GET",
        f"http://localhost/api/{route}",
        headers={},
        params=params or {},
        route_params=route_params or {},
        body=b"",
    )
    handler = function_app.webhooks_event if route_params else function_app.webhooks_events
    response: func.HttpResponse = handler(req)
    return response.status_code, json.loads(response.get_body())


def test_event_grid_and_cloudevents_are_processed(webhook_env: Any) -> None:
    """Event Grid events (200 once stored) and a CloudEvents batch reach the handlers matching their type."""
    seen: list[WebhookEvent] = []
    on_eventgrid("Microsoft.Storage.*")(seen.append)
    on_eventgrid("com.example.*")(seen.append)
    assert _eventgrid([_event(1), _event(2), _event(3, "Other.Type")]).status_code == 200
    cloud = [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/app",
            "type": "com.example.made",
            "data": {"k": 1},
        }
    ]
    assert _eventgrid(cloud, "application/cloudevents-batch+json").status_code == 200
    run_queue(webhook_env)
    assert sorted(e.type for e in seen) == [
        "Microsoft.Storage.BlobCreated",
        "Microsoft.Storage.BlobCreated",
        "com.example.made",
    ]
    assert {json.dumps(e.data) for e in seen} == {'{"n": 1}', '{"n": 2}', '{"k": 1}'}


def test_binary_mode_cloudevents_are_stored_deduped_and_processed(webhook_env: Any) -> None:
    """A binary-mode CloudEvent (ce-* headers) is 200 once stored; its JSON or binary data reaches the
    handler, and the same source + id sent again is handled once."""
    seen: list[WebhookEvent] = []
    on_eventgrid("com.example.binary.*")(seen.append)
    ident = str(uuid.uuid4())

    def send(content_type: str, body: bytes, event_id: str) -> int:
        headers = {
            "Content-Type": content_type,
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-source": "/app/binary",
            "ce-type": "com.example.binary.made",
        }
        req = func.HttpRequest(
            "POST",
            "http://localhost/api/webhooks/eventgrid",
            headers=headers,
            params={},
            route_params={},
            body=body,
        )
        response: func.HttpResponse = function_app.webhooks_eventgrid(req, http_context())
        return int(response.status_code)

    assert send("application/json", b'{"k": 2}', ident) == 200
    assert send("application/json", b'{"k": 2}', ident) == 200  # delivered again
    assert send("application/octet-stream", b"\x00\x01", ident + "-bytes") == 200
    run_queue(webhook_env)
    assert sorted((e.id, repr(e.data)) for e in seen) == sorted(
        [(f"/app/binary|{ident}", "{'k': 2}"), (f"/app/binary|{ident}-bytes", "b'\\x00\\x01'")]
    )
    assert {e.raw["datacontenttype"] for e in seen} == {"application/json", "application/octet-stream"}


def test_a_failing_handler_is_retried_until_it_succeeds_once(webhook_env: Any) -> None:
    """A handler failing twice runs a third time; the run ends succeeded at attempt 3, one effect."""
    calls: list[str] = []
    effects: list[str] = []

    def flaky(event: WebhookEvent) -> None:
        calls.append(event.id)
        if len(calls) < 3:
            raise RuntimeError("downstream busy")
        effects.append(event.id)

    on_eventgrid("*")(flaky)
    assert _eventgrid([_event(1)]).status_code == 200
    run_queue(webhook_env)
    assert len(calls) == 3
    assert len(effects) == 1
    status, body = _get("webhooks/events", {"source": "eventgrid"})
    assert status == 200
    [run] = body["value"]
    assert (run["status"], run["attempt"]) == ("succeeded", 3)


def test_a_handler_that_keeps_failing_ends_in_poison_with_its_error(
    webhook_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After maxDequeueCount tries the message is in poison; the run says failed, poisoned, and why."""

    def broken(event: WebhookEvent) -> None:
        raise ValueError("no such customer 42")

    monkeypatch.setenv("AzureFunctionsJobHost__extensions__queues__maxDequeueCount", "3")
    on_eventgrid("*")(broken)
    assert _eventgrid([_event(1)]).status_code == 200
    assert run_queue(webhook_env, max_dequeue=3)["poisoned"] == 1
    assert queue_depth(webhook_env) == 0
    poison = webhook_env.queue("webhook-events-poison").get_queue_properties().approximate_message_count
    assert poison == 1
    status, body = _get("webhooks/events", {"status": "failed"})
    assert status == 200
    [run] = body["value"]
    assert run["detail"]["poisoned"] is True
    assert "no such customer 42" in run["error"]["message"]
    assert run["attempt"] == 3
    status, one = _get("webhooks/events/x/y", route_params={"source": "eventgrid", "id": run["id"]})
    assert status == 200
    assert one["payload"]["data"] == {"n": 1}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "exploded"},
        {"since": "yesterday"},
        {"since": "2026-12-01T00:00:00"},
        {"top": "0"},
        {"top": "x"},
        {"source": "Bad Name!"},
        {"continuation": "not-a-token"},
    ],
)
def test_event_log_bad_queries_are_400(webhook_env: Any, params: dict[str, str]) -> None:
    """Unknown status, bad dates, bad top, bad source names and foreign continuations are 400."""
    status, body = _get("webhooks/events", params)
    assert status == 400
    assert body["status"] == 400


def test_unknown_event_is_404(webhook_env: Any) -> None:
    """An id that is not in the log is a 404 problem."""
    status, _ = _get("webhooks/events/x/y", route_params={"source": "graph", "id": "0000000000000-deadbeef"})
    assert status == 404


def test_binary_mode_cloudevent_over_a_real_socket(webhook_env: Any, receiver_url: str) -> None:
    """Through the local Functions host, percent-encoded ce-* headers arrive decoded as the attributes."""
    import requests

    seen: list[WebhookEvent] = []
    on_eventgrid("com.example.socket")(seen.append)
    url = receiver_url.replace("/webhooks/graph", "/webhooks/eventgrid")
    ident = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": ident,
        "ce-source": "/caf%C3%A9",
        "ce-type": "com.example.socket",
        "ce-subject": "a%20b",
    }
    with requests.Session() as session:
        session.trust_env = False
        answer = session.post(url, data=b'{"n": 7}', headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    run_queue(webhook_env)
    (event,) = seen
    assert (event.id, event.subject, event.data) == (f"/café|{ident}", "a b", {"n": 7})


def test_event_grid_and_graph_answer_503_while_storage_is_down(
    devstack: OfflineTenant, webhook_env: Any
) -> None:
    """With storage unreachable, Event Grid and Graph deliveries get 503 + Retry-After, never a 2xx."""
    put_secret(devstack, CLIENT_STATE_SECRET, "cs-down")
    graph = func.HttpRequest(
        "POST",
        "http://localhost/api/webhooks/graph",
        headers={"Content-Type": "application/json"},
        params={},
        body=json.dumps({"value": [notification(client_state="cs-down")]}).encode(),
    )
    with storage_down():
        answers = [_eventgrid([_event(1)]), function_app.webhooks_graph(graph, http_context())]
    for answer in answers:
        assert answer.status_code == 503
        assert answer.mimetype == "application/problem+json"
        assert answer.headers["Retry-After"]
    assert queue_depth(webhook_env) == 0


def test_event_log_filters_by_source_status_and_since(webhook_env: Any) -> None:
    """?source, ?status and ?since each narrow the log; newest first; combined they all apply."""
    runs = Ledger(webhook_env)
    now = clock.now()
    with clock.use(clock.ManualClock(now - timedelta(days=2))):
        old = runs.new(Kind.WEBHOOK, "standard", trigger="http", status=Status.SUCCEEDED)
        runs.record(old)
    failed = runs.new(Kind.WEBHOOK, "standard", trigger="http", status=Status.FAILED)
    other = runs.new(Kind.WEBHOOK, "github", trigger="http", status=Status.SUCCEEDED)
    runs.record(failed)
    runs.record(other)

    def ids(params: dict[str, str]) -> list[str]:
        status, body = _get("webhooks/events", params)
        assert status == 200
        return [r["id"] for r in body["value"]]

    since = (now - timedelta(days=1)).isoformat()
    assert ids({"source": "standard"}) == [failed.id, old.id]
    assert ids({"status": "failed"}) == [failed.id]
    assert set(ids({"since": since})) == {failed.id, other.id}
    assert ids({"source": "standard", "since": since, "status": "failed"}) == [failed.id]
    assert ids({"source": "github", "status": "failed"}) == []
