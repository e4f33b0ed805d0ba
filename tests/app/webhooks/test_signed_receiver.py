"""POST /api/webhooks/signed/{source} on Key Vault and Azurite: stored then 2xx, processed once, refusals."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from typing import Any

import azure.functions as func
import pytest

import function_app
from devstack.offline_tenant import OfflineTenant
from shared.webhooks import WebhookEvent, on_signed
from shared.webhooks._signatures import github_signature, standard_key, standard_signature
from tests.app.webhooks.support import (
    SECRET_STANDARD,
    put_secret,
    queue_depth,
    run_queue,
    secret_value,
    storage_down,
)
from tests.devstack.support import http_context


def _post(source: str, body: bytes, headers: dict[str, str]) -> func.HttpResponse:
    req = func.HttpRequest(
        "POST",
        f"http://localhost/api/webhooks/signed/{source}",
        headers=headers,
        params={},
        route_params={"source": source},
        body=body,
    )
    response: func.HttpResponse = function_app.webhooks_signed(req, http_context())
    return response


def _standard(
    secret: str, body: bytes, *, msg_id: str | None = None, ts: int | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = ts if ts is not None else int(time.time())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_signature(standard_key(secret), msg_id, ts, body),
    }


@pytest.fixture
def received(webhook_env: Any) -> list[WebhookEvent]:
    """Handlers for the seeded sources `standard` (Standard Webhooks) and `github`, recording their events."""
    events: list[WebhookEvent] = []
    on_signed("standard", scheme="standard-webhooks")(events.append)
    on_signed("github", scheme="github")(events.append)
    return events


def test_standard_webhook_is_stored_then_processed_once(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent]
) -> None:
    """A valid delivery answers 200 only once enqueued; the handler then gets the decoded event once."""
    body = json.dumps({"type": "invoice.paid", "data": {"id": 7}}).encode()
    headers = _standard(secret_value(devstack, SECRET_STANDARD), body)
    response = _post("standard", body, headers)
    assert response.status_code == 200
    assert queue_depth(webhook_env) == 1
    assert run_queue(webhook_env)["ok"] == 1
    assert len(received) == 1
    event = received[0]
    assert (event.source, event.id, event.type) == ("standard", headers["webhook-id"], "invoice.paid")
    assert event.data == {"type": "invoice.paid", "data": {"id": 7}}
    assert "webhook-signature" not in json.dumps(event.raw)


def test_replayed_id_is_refused_and_not_stored(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent]
) -> None:
    """The same webhook-id again (even freshly signed) is refused 409 once processed; nothing enqueued."""
    secret = secret_value(devstack, SECRET_STANDARD)
    body = b'{"type": "ping"}'
    msg_id = f"msg_{uuid.uuid4().hex}"
    assert _post("standard", body, _standard(secret, body, msg_id=msg_id)).status_code == 200
    run_queue(webhook_env)
    again = _post("standard", body, _standard(secret, body, msg_id=msg_id))
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert queue_depth(webhook_env) == 0
    assert len(received) == 1


def test_github_documented_signature_shape_is_accepted(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent]
) -> None:
    """X-Hub-Signature-256 over the raw body with `webhook-github` is accepted; X-GitHub-Event is the type."""
    secret = secret_value(devstack, "webhook-github")
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(secret, body),
    }
    assert _post("github", body, headers).status_code == 200
    run_queue(webhook_env)
    assert [(e.type, e.id) for e in received] == [("ping", headers["X-GitHub-Delivery"])]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("bad-signature", 401),
        ("no-signature", 401),
        ("stale", 401),
        ("no-id", 400),
        ("unknown-source", 404),
        ("huge", 413),
    ],
)
def test_refusals_enqueue_nothing(
    devstack: OfflineTenant,
    webhook_env: Any,
    received: list[WebhookEvent],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bad/missing signature, stale timestamp 401; malformed 400; unknown 404; too large 413: none stored."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WEBHOOKS_MAX_BODY_BYTES", "2048")
    secret = secret_value(devstack, SECRET_STANDARD)
    body = b'{"type": "x"}'
    headers = _standard(secret, body)
    source = "standard"
    if case == "bad-signature":
        headers["webhook-signature"] = "v1," + base64.b64encode(b"\0" * 32).decode()
    elif case == "no-signature":
        del headers["webhook-signature"]
    elif case == "stale":
        headers = _standard(secret, body, ts=int(time.time()) - 301)
    elif case == "no-id":
        del headers["webhook-id"]
    elif case == "unknown-source":
        source = "nobody"
    elif case == "huge":
        body = b"{" + b" " * 4096 + b"}"
        headers = _standard(secret, body)
    response = _post(source, body, headers)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert secret not in response.get_body().decode()
    assert queue_depth(webhook_env) == 0
    # Nothing logged at DEBUG (our code, azure-core's HTTP log) holds the secret, its key or a signature.
    key = secret.removeprefix("whsec_")
    signatures = [s.split(",", 1)[-1] for s in headers.get("webhook-signature", "").split()]
    assert [v for v in (secret, key, *signatures) if v in caplog.text] == []


def test_a_new_secret_version_is_picked_up_without_restart(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a new version of webhook-standard is added, a delivery signed with it is accepted."""
    monkeypatch.setattr("shared.webhooks._secrets.FRESH_READ_INTERVAL_S", 0.0)
    old = secret_value(devstack, SECRET_STANDARD)
    body = b'{"type": "a"}'
    assert _post("standard", body, _standard(old, body)).status_code == 200
    new = "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()
    put_secret(devstack, SECRET_STANDARD, new)
    try:
        assert _post("standard", body, _standard(new, body)).status_code == 200
        # The previous value stays accepted for a while (deliveries signed before the rotation).
        assert _post("standard", body, _standard(old, body)).status_code == 200
    finally:
        put_secret(devstack, SECRET_STANDARD, old)


def test_storage_down_is_503_and_nothing_acknowledged(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With storage unreachable the receiver answers 503 with Retry-After (never 2xx, never 500)."""
    secret = secret_value(devstack, SECRET_STANDARD)
    body = b'{"type": "down"}'
    headers = _standard(secret, body)
    with storage_down():
        started = time.monotonic()
        response = _post("standard", body, headers)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    assert elapsed < 5
