"""A webhook event stored over HTTP carries the request's traceparent; its processing span links to it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import azure.functions as func
import pytest

import function_app
from devstack.host.invocation import InvocationContext
from devstack.offline_tenant import OfflineTenant
from shared.webhooks import on_eventgrid, on_graph, on_signed
from shared.webhooks._signatures import standard_key, standard_signature
from tests.app.telemetry.support import Captured
from tests.app.webhooks.support import (
    CLIENT_STATE_SECRET,
    SECRET_STANDARD,
    notification,
    put_secret,
    run_queue,
    secret_value,
)

# The host's span of the HTTP request that delivered the event (W3C traceparent).
REQUEST = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CLIENT_STATE = "links-client-state-" + uuid.uuid4().hex


def _request(
    url: str, body: bytes, headers: dict[str, str], route: dict[str, str] | None = None
) -> func.HttpRequest:
    return func.HttpRequest("POST", url, headers=headers, params={}, route_params=route or {}, body=body)


def _signed(devstack: OfflineTenant, padding: int = 0) -> func.HttpResponse:
    on_signed("standard", scheme="standard-webhooks")(lambda event: None)
    body = json.dumps({"type": "invoice.paid", "padding": "x" * padding}).encode()
    msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_signature(
            standard_key(secret_value(devstack, SECRET_STANDARD)), msg_id, ts, body
        ),
        # The sender's own trace context is not what the message carries: the host's span is.
        "traceparent": "00-11111111111111111111111111111111-2222222222222222-01",
    }
    req = _request("http://localhost/api/webhooks/signed/standard", body, headers, {"source": "standard"})
    response: func.HttpResponse = function_app.webhooks_signed(req, _host())
    return response


def _graph(devstack: OfflineTenant) -> func.HttpResponse:
    put_secret(devstack, CLIENT_STATE_SECRET, CLIENT_STATE)
    on_graph("users/*")(lambda event: None)
    doc = {"value": [notification(client_state=CLIENT_STATE, id=str(uuid.uuid4()))]}
    req = _request(
        "http://localhost/api/webhooks/graph", json.dumps(doc).encode(), {"Content-Type": "application/json"}
    )
    response: func.HttpResponse = function_app.webhooks_graph(req, _host())
    return response


def _eventgrid(devstack: OfflineTenant) -> func.HttpResponse:
    on_eventgrid("Microsoft.Storage.*")(lambda event: None)
    event = {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
        "subject": "/blobServices/default/containers/c/blobs/b",
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": "2026-12-01T10:00:00Z",
        "data": {"n": 1},
        "dataVersion": "1",
    }
    headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    req = _request("http://localhost/api/webhooks/eventgrid", json.dumps([event]).encode(), headers)
    response: func.HttpResponse = function_app.webhooks_eventgrid(req, _host())
    return response


SENDERS: dict[str, tuple[Callable[[OfflineTenant], func.HttpResponse], str]] = {
    "signed": (_signed, "webhook standard"),
    "graph": (_graph, "webhook graph"),
    "eventgrid": (_eventgrid, "webhook eventgrid"),
}


def _host() -> InvocationContext:
    return InvocationContext("r", "webhooks", ".", REQUEST)


def _stored(store: Any) -> list[dict[str, Any]]:
    """The webhook queue's messages as stored (peeked: processing takes them after)."""
    return [json.loads(m.content) for m in store.queue("webhook-events").peek_messages(max_messages=32)]


@pytest.mark.parametrize("receiver", sorted(SENDERS))
def test_processing_links_to_the_request_that_stored_the_event(
    receiver: str, devstack: OfflineTenant, webhook_env: Any, captured: Captured
) -> None:
    """The message gains the request's traceparent (the host's span, not the sender's header); the
    event's processing span links to that span."""
    send, span_name = SENDERS[receiver]
    assert send(devstack).status_code < 300
    [message] = _stored(webhook_env)
    assert message["traceparent"] == REQUEST
    assert set(message) == {"v", "receiver", "source", "receivedAt", "meta", "events", "traceparent"}
    assert run_queue(webhook_env)["ok"] == 1
    span = next(s for s in captured.spans.get_finished_spans() if s.name == span_name)
    _, trace_id, span_id, _ = REQUEST.split("-")
    assert [(link.context.trace_id, link.context.span_id) for link in span.links] == [
        (int(trace_id, 16), int(span_id, 16))
    ]
    assert (span.attributes or {})["run.status"] == "succeeded"


@pytest.mark.parametrize("receiver", sorted(SENDERS))
@pytest.mark.usefixtures("telemetry_off")
def test_no_traceparent_is_stored_when_telemetry_is_off(
    receiver: str, devstack: OfflineTenant, webhook_env: Any
) -> None:
    """Telemetry off: the stored message has no traceparent field, and the event is processed."""
    send, _ = SENDERS[receiver]
    assert send(devstack).status_code < 300
    [message] = _stored(webhook_env)
    assert "traceparent" not in message
    assert run_queue(webhook_env)["ok"] == 1


def test_a_message_stored_without_traceparent_is_processed_unlinked(
    devstack: OfflineTenant, webhook_env: Any, captured: Captured
) -> None:
    """An older message (no traceparent field) is processed as before; its span has no link."""
    received: list[Any] = []
    on_signed("standard", scheme="standard-webhooks")(received.append)
    event = {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "invoice.paid",
        "subject": None,
        "payload": {"body": '{"type": "invoice.paid"}', "headers": {}},
    }
    older = {
        "v": 1,
        "receiver": "signed",
        "source": "standard",
        "receivedAt": "2026-12-01T06:00:00.000Z",
        "meta": {"scheme": "standard-webhooks"},
        "events": [event],
    }
    webhook_env.enqueue("webhook-events", older)
    assert run_queue(webhook_env)["ok"] == 1
    assert [e.id for e in received] == [event["id"]]
    span = next(s for s in captured.spans.get_finished_spans() if s.name == "webhook standard")
    assert span.links == ()


def test_a_large_event_links_through_its_blob(
    devstack: OfflineTenant, webhook_env: Any, captured: Captured
) -> None:
    """Over the inline limit the envelope (with the traceparent) is a blob; the message only points at it."""
    assert _signed(devstack, padding=60_000).status_code == 200
    [pointer] = _stored(webhook_env)
    assert set(pointer) == {"v", "blob", "source"}
    assert run_queue(webhook_env)["ok"] == 1
    span = next(s for s in captured.spans.get_finished_spans() if s.name == "webhook standard")
    assert [f"{link.context.span_id:016x}" for link in span.links] == [REQUEST.split("-")[2]]
