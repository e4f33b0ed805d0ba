"""A webhook event's processing is one trace (run id, source, event id); acks are counted."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import azure.functions as func

import function_app
from devstack.offline_tenant import OfflineTenant
from shared.webhooks import WebhookEvent, on_signed
from shared.webhooks._signatures import standard_key, standard_signature
from tests.app.telemetry.support import Captured, exported_text, metric_sum, run_trace
from tests.app.webhooks.support import SECRET_STANDARD, run_queue, secret_value
from tests.devstack.support import http_context


def _deliver(devstack: OfflineTenant, body: bytes) -> tuple[func.HttpResponse, str]:
    secret = secret_value(devstack, SECRET_STANDARD)
    msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_signature(standard_key(secret), msg_id, ts, body),
    }
    req = func.HttpRequest(
        "POST",
        "http://localhost/api/webhooks/signed/standard",
        headers=headers,
        params={},
        route_params={"source": "standard"},
        body=body,
    )
    return function_app.webhooks_signed(req, http_context()), msg_id


def test_webhook_event_processing_is_one_trace(
    devstack: OfflineTenant, webhook_env: Any, captured: Captured
) -> None:
    """The stored event's processing is a span with its run id, source and event id, and no secret."""
    received: list[WebhookEvent] = []
    on_signed("standard", scheme="standard-webhooks")(received.append)
    response, msg_id = _deliver(devstack, json.dumps({"type": "invoice.paid"}).encode())
    assert response.status_code == 200
    assert run_queue(webhook_env)["ok"] == 1
    root, _ = run_trace(captured, "webhook standard")
    attributes = root.attributes or {}
    assert attributes["webhook.event_id"] == msg_id
    assert attributes["webhook.source"] == "standard"
    assert attributes["run.status"] == "succeeded"
    assert str(attributes["run.id"])
    secret = secret_value(devstack, SECRET_STANDARD)
    assert all(secret not in text and "v1," not in text for text in exported_text(captured))


def test_webhook_answers_are_counted_by_status(
    devstack: OfflineTenant, webhook_env: Any, captured: Captured
) -> None:
    """A stored delivery adds one 200 to webhook.acks; a refused (unsigned) one adds a 400."""
    on_signed("standard", scheme="standard-webhooks")(lambda event: None)
    labels = {"webhook.receiver": "signed", "webhook.source": "standard"}
    before = metric_sum(captured.metrics, "webhook.acks", **labels, **{"http.response.status_code": 200})
    refused_before = metric_sum(captured.metrics, "webhook.acks", **{"http.response.status_code": 400})
    response, _ = _deliver(devstack, b'{"type": "x"}')
    assert response.status_code == 200
    unsigned = func.HttpRequest(
        "POST",
        "http://localhost/api/webhooks/signed/standard",
        headers={"Content-Type": "application/json"},
        params={},
        route_params={"source": "standard"},
        body=b"{}",
    )
    assert function_app.webhooks_signed(unsigned, http_context()).status_code == 400
    after = metric_sum(captured.metrics, "webhook.acks", **labels, **{"http.response.status_code": 200})
    assert after - before == 1
    refused = metric_sum(captured.metrics, "webhook.acks", **{"http.response.status_code": 400})
    assert refused - refused_before == 1
