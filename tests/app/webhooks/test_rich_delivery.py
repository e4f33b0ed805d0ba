"""Rich notifications end to end: the Graph emulator encrypts each change for the subscription's
Key Vault certificate and signs validation tokens; our receiver (a real socket) checks them and the
processor decrypts, with an exportable key or with Key Vault's decrypt (the key never leaves)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.runs import Kind, Status, ledger
from shared.webhooks import WebhookEvent, on_graph
from shared.webhooks._subscriptions import sync_subscriptions
from tests.app.webhooks.support import (
    CLIENT_STATE_SECRET,
    graph_control,
    queue_depth,
    run_queue,
    secret_value,
    wait_delivered,
)
from tests.app_env import by_operation, reset_counts

EXPORTABLE = "entra-automation-cert"
NON_EXPORTABLE = "entra-automation-signing"


def _rich(monkeypatch: pytest.MonkeyPatch, certificate: str) -> list[WebhookEvent]:
    """A rich users subscription for `certificate`, created by the job; the events handlers get."""
    monkeypatch.setenv(
        "WEBHOOKS_GRAPH_SUBSCRIPTIONS",
        json.dumps([{"resource": "users", "changeType": "updated", "rich": True}]),
    )
    monkeypatch.setenv("WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE", certificate)
    assert sync_subscriptions()["created"] == 1
    events: list[WebhookEvent] = []
    on_graph("users/*")(events.append)
    return events


def _change(devstack: OfflineTenant, index: int) -> str:
    """A user changes in Graph; its object id."""
    user = devstack.tenant.users[index].object_id
    graph_control(devstack, "POST", "changes", {"resource": "users", "id": user, "changeType": "updated"})
    return user


@pytest.mark.parametrize("certificate", [EXPORTABLE, NON_EXPORTABLE])
def test_rich_change_is_verified_and_decrypted(
    devstack: OfflineTenant, subscribed: Any, monkeypatch: pytest.MonkeyPatch, certificate: str
) -> None:
    """Graph's encrypted change reaches the handler decrypted; a non-exportable key is used by Key
    Vault's decrypt (once), an exportable one locally (no decrypt call)."""
    received = _rich(monkeypatch, certificate)
    reset_counts(devstack)
    user = _change(devstack, 7)
    (delivery,) = wait_delivered(devstack)
    assert (delivery["status"], delivery["delivered"]) == (202, True)
    assert run_queue(subscribed) == {"ok": 1, "failed": 0, "poisoned": 0}
    (event,) = received
    assert event.data["id"] == user
    assert event.data["@odata.type"] == "#microsoft.graph.user"
    assert event.data["displayName"] == devstack.tenant.users[7].display_name
    assert "encryptedContent" in event.raw  # stored as received, decrypted only for the handler
    assert by_operation(devstack, "keyvault").get("Decrypt", 0) == (1 if certificate == NON_EXPORTABLE else 0)


@pytest.mark.parametrize("tamper", ["forgedToken", "wrongAudience"])
def test_forged_or_wrong_audience_validation_token_is_refused(
    devstack: OfflineTenant,
    subscribed: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tamper: str,
) -> None:
    """A batch whose validation token is forged or for another app is answered 401; nothing stored,
    and no token or clientState in the logs."""
    caplog.set_level(logging.INFO)
    received = _rich(monkeypatch, EXPORTABLE)
    graph_control(devstack, "PUT", "notifications", {"tamper": tamper, "retryForS": 1})  # no redelivery
    _change(devstack, 8)
    deliveries = wait_delivered(devstack)
    assert [(d["status"], d["tamper"]) for d in deliveries if "status" in d] == [(401, tamper)]
    assert queue_depth(subscribed) == 0
    assert run_queue(subscribed) == {"ok": 0, "failed": 0, "poisoned": 0}
    assert received == []
    assert "graph notification" in caplog.text  # logs were captured: the checks below see them
    assert "eyJ" not in caplog.text  # no JWT (header or claims) was logged
    assert secret_value(devstack, CLIENT_STATE_SECRET) not in caplog.text


def test_tampered_data_signature_from_graph_is_rejected(
    devstack: OfflineTenant, subscribed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataSignature that does not match is never decrypted nor handled: a rejected run, not retried."""
    received = _rich(monkeypatch, EXPORTABLE)
    graph_control(devstack, "PUT", "notifications", {"tamper": "dataSignature"})
    _change(devstack, 9)
    (delivery,) = wait_delivered(devstack)
    assert (delivery["status"], delivery["tamper"]) == (202, "dataSignature")  # stored; checked later
    assert run_queue(subscribed) == {"ok": 1, "failed": 0, "poisoned": 0}
    assert received == []
    (run,) = ledger().query(Kind.WEBHOOK, "graph", status=Status.FAILED).runs
    assert run.detail["rejected"] is True
    assert run.error is not None
    assert "dataSignature" in run.error.message
