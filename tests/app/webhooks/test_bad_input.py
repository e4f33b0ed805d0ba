"""Bad input to every receiver: a clear 4xx problem+json, never a 500, and nothing enqueued."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest

import function_app
from devstack.offline_tenant import OfflineTenant
from shared.webhooks import on_signed
from tests.app.webhooks.support import CLIENT_STATE_SECRET, notification, put_secret, queue_depth
from tests.devstack.support import http_context

GRAPH_OK = json.dumps({"value": [notification(client_state="cs-bad-input")]}).encode()
CE_BINARY = {"ce-specversion": "1.0", "ce-id": "b1", "ce-source": "/s", "ce-type": "t"}
EG_EVENT = {"id": "1", "subject": "s", "eventType": "T", "eventTime": "2026-12-01T00:00:00Z", "data": {}}

CASES: list[tuple[str, str, dict[str, str], bytes, int]] = [
    # receiver, method, headers, body, status
    ("graph", "POST", {"Content-Type": "application/json"}, b"", 400),
    ("graph", "POST", {"Content-Type": "application/json"}, GRAPH_OK[: len(GRAPH_OK) // 2], 400),
    ("graph", "POST", {"Content-Type": "text/plain"}, b"hello", 400),
    ("graph", "POST", {"Content-Type": "application/json"}, b'{"value": {}}', 400),
    ("graph", "POST", {"Content-Type": "application/json"}, b"\x00\xff" * 10, 400),
    (
        "graph",
        "POST",
        {"Content-Type": "application/json"},
        b'{"value": [' + b'{"a": 1},' * 200_000 + b"{}]}",
        413,
    ),
    ("eventgrid", "POST", {"Content-Type": "text/xml"}, b"<a/>", 415),
    ("eventgrid", "POST", {}, json.dumps([EG_EVENT]).encode(), 415),
    ("eventgrid", "POST", {"Content-Type": "application/json"}, json.dumps([EG_EVENT]).encode()[:-5], 400),
    ("eventgrid", "POST", {"Content-Type": "application/json"}, b"null", 400),
    ("eventgrid", "POST", {"Content-Type": "application/cloudevents+json"}, b'{"specversion": "1.0"}', 400),
    ("eventgrid", "POST", {"Content-Type": "application/cloudevents-batch+json"}, b"[]", 400),
    ("eventgrid", "OPTIONS", {"WebHook-Request-Origin": "a\r\nb"}, b"", 400),
    # CloudEvents binary mode: a missing required attribute, a bad encoding, non-JSON JSON data.
    ("eventgrid", "POST", {**CE_BINARY, "ce-id": ""}, b"", 400),
    ("eventgrid", "POST", {**CE_BINARY, "ce-specversion": "2.0"}, b"", 400),
    ("eventgrid", "POST", {**CE_BINARY, "ce-source": "%FF"}, b"", 400),
    ("eventgrid", "POST", {**CE_BINARY, "ce-Bad_Name": "x"}, b"", 400),
    ("eventgrid", "POST", {**CE_BINARY, "Content-Type": "application/json"}, b'{"k": ', 400),
    ("eventgrid", "POST", {**CE_BINARY, "Content-Type": "application/octet-stream"}, b"x" * 1_100_000, 413),
    ("signed", "POST", {"Content-Type": "application/json"}, b"{}", 400),  # no webhook-id
    (
        "signed",
        "POST",
        {"webhook-id": "m", "webhook-timestamp": "1e9", "webhook-signature": "v1,x"},
        b"{}",
        400,
    ),
    (
        "signed",
        "POST",
        {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
        b"{}",
        401,
    ),
    (
        "signed",
        "POST",
        {"webhook-id": "\x00bad", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
        b"",
        400,
    ),
    ("unknown", "POST", {"Content-Type": "application/json"}, b"{}", 404),
]


def _call(receiver: str, method: str, headers: dict[str, str], body: bytes) -> func.HttpResponse:
    source = "standard" if receiver == "signed" else "no-such-source"
    route = {"graph": "webhooks/graph", "eventgrid": "webhooks/eventgrid"}.get(
        receiver, f"webhooks/signed/{source}"
    )
    req = func.HttpRequest(
        method,
        f"http://localhost/api/{route}",
        headers=headers,
        params={},
        route_params={"source": source},
        body=body,
    )
    handler = {"graph": function_app.webhooks_graph, "eventgrid": function_app.webhooks_eventgrid}.get(
        receiver, function_app.webhooks_signed
    )
    response: func.HttpResponse = handler(req, http_context())
    return response


@pytest.mark.parametrize(("receiver", "method", "headers", "body", "status"), CASES)
def test_bad_input_is_a_clear_4xx_and_nothing_is_stored(
    devstack: OfflineTenant,
    webhook_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    receiver: str,
    method: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    """Truncated, empty, non-JSON, mistyped, oversized or header-less requests get a 4xx problem+json."""
    monkeypatch.setenv("WEBHOOKS_MAX_BODY_BYTES", "1048576")
    put_secret(devstack, CLIENT_STATE_SECRET, "cs-bad-input")
    on_signed("standard", scheme="standard-webhooks")(lambda event: None)
    response = _call(receiver, method, headers, body)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.get_body())
    assert problem["status"] == status
    assert problem["detail"]
    assert "Traceback" not in response.get_body().decode()
    assert queue_depth(webhook_env) == 0
