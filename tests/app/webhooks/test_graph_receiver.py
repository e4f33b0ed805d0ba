"""POST /api/webhooks/graph on Key Vault, Entra, Azurite: clientState, rich notifications, refusals."""

from __future__ import annotations

import json
import uuid
from typing import Any

import azure.functions as func
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import function_app
from devstack.offline_tenant import OfflineTenant
from devstack.tenant.tokens import Principal
from shared.runs import Kind, Status, ledger
from shared.webhooks import WebhookEvent, on_graph
from shared.webhooks._rich import CHANGE_TRACKING_APP_ID
from tests.app.webhooks.support import (
    APP_ID,
    CLIENT_STATE_SECRET,
    encrypt_like_graph,
    notification,
    put_secret,
    queue_depth,
    run_queue,
)
from tests.app_env import by_operation, reset_counts
from tests.devstack.support import http_context

CLIENT_STATE = "graph-client-state-" + uuid.uuid4().hex
EXPORTABLE = "entra-automation-cert"
NON_EXPORTABLE = "entra-automation-signing"


def _post(doc: dict[str, Any]) -> func.HttpResponse:
    req = func.HttpRequest(
        "POST",
        "http://localhost/api/webhooks/graph",
        headers={"Content-Type": "application/json"},
        params={},
        route_params={},
        body=json.dumps(doc).encode(),
    )
    response: func.HttpResponse = function_app.webhooks_graph(req, http_context())
    return response


def _token(devstack: OfflineTenant, *, audience: str = APP_ID, appid: str = CHANGE_TRACKING_APP_ID) -> str:
    """A v1 token from the tenant's real issuer, as Graph's Change Tracking app carries it."""
    tracking = Principal(
        object_id=str(uuid.uuid4()), app_id=appid, display_name="Graph Change Tracking", kind="Application"
    )
    token, _ = devstack.tenant.issuer.issue(tracking, audience, version="1.0")
    return token


def _public_key(devstack: OfflineTenant, name: str) -> tuple[rsa.RSAPublicKey, str]:
    cv = devstack.tenant.vault.latest_certificate(name)
    assert cv is not None
    key = cv.certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key, f"{name}/{cv.version}"


@pytest.fixture
def received(devstack: OfflineTenant, webhook_env: Any) -> list[WebhookEvent]:
    put_secret(devstack, CLIENT_STATE_SECRET, CLIENT_STATE)
    events: list[WebhookEvent] = []
    on_graph("users/*")(events.append)
    return events


def test_notifications_are_accepted_once_stored_and_processed_once(
    webhook_env: Any, received: list[WebhookEvent]
) -> None:
    """A batch with the right clientState is 202 after one enqueue; each notification is handled once."""
    doc = {
        "value": [
            notification(client_state=CLIENT_STATE),
            notification(client_state=CLIENT_STATE, resource="users/def"),
        ]
    }
    response = _post(doc)
    assert response.status_code == 202
    assert json.loads(response.get_body())["stored"] == 2
    _post(doc)  # Graph delivers at least once: the same batch again
    run_queue(webhook_env)
    assert sorted(e.subject or "" for e in received) == ["users/abc", "users/def"]
    assert received[0].data["@odata.type"] == "#Microsoft.Graph.User"
    assert all("clientState" not in json.dumps(e.raw) for e in received)
    dups = ledger().query(Kind.WEBHOOK, "graph", status=Status.DUPLICATE).runs
    assert len(dups) == 2
    # Nothing stored holds the shared secret: every row of the ledger, read raw.
    rows = webhook_env.query_all("runs", "PartitionKey ne ''")
    assert rows
    assert all(CLIENT_STATE not in json.dumps(r.entity, default=str) for r in rows)


def test_wrong_client_state_is_401_and_nothing_stored(webhook_env: Any, received: list[WebhookEvent]) -> None:
    """One notification with a wrong clientState refuses the batch 401; nothing is queued."""
    response = _post(
        {"value": [notification(client_state=CLIENT_STATE), notification(client_state="forged")]}
    )
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert CLIENT_STATE not in response.get_body().decode()
    assert queue_depth(webhook_env) == 0


def test_a_new_client_state_version_is_picked_up_without_restart(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new clientState secret version is accepted without a restart (the previous one for a while)."""
    monkeypatch.setattr("shared.webhooks._secrets.FRESH_READ_INTERVAL_S", 0.0)
    assert _post({"value": [notification(client_state=CLIENT_STATE)]}).status_code == 202
    rotated = "graph-client-state-" + uuid.uuid4().hex
    put_secret(devstack, CLIENT_STATE_SECRET, rotated)
    try:
        response = _post({"value": [notification(client_state=rotated, resource="users/new")]})
        assert response.status_code == 202
        # Subscriptions created before the rotation still carry the previous value.
        assert (
            _post({"value": [notification(client_state=CLIENT_STATE, resource="users/old")]}).status_code
            == 202
        )
        assert _post({"value": [notification(client_state="forged")]}).status_code == 401
    finally:
        put_secret(devstack, CLIENT_STATE_SECRET, CLIENT_STATE)
    run_queue(webhook_env)
    assert sorted(e.subject or "" for e in received) == ["users/abc", "users/new", "users/old"]


@pytest.mark.parametrize("certificate", [EXPORTABLE, NON_EXPORTABLE])
def test_rich_notification_is_verified_and_decrypted(
    devstack: OfflineTenant,
    webhook_env: Any,
    received: list[WebhookEvent],
    monkeypatch: pytest.MonkeyPatch,
    certificate: str,
) -> None:
    """Content Graph-encrypted for the certificate (exportable, or unwrapped by Key Vault) decrypts."""
    monkeypatch.setenv("WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE", certificate)
    public, cert_id = _public_key(devstack, certificate)
    resource = {"id": "abc", "displayName": "Adele Vance", "jobTitle": "Identity Administrator"}
    n = notification(
        client_state=CLIENT_STATE,
        encryptedContent=encrypt_like_graph(resource, public, certificate_id=cert_id),
    )
    reset_counts(devstack)
    assert _post({"value": [n], "validationTokens": [_token(devstack)]}).status_code == 202
    run_queue(webhook_env)
    assert [e.data for e in received] == [resource]
    # The non-exportable key is used where it lives: Key Vault decrypts the dataKey.
    decrypts = by_operation(devstack, "keyvault").get("Decrypt", 0)
    assert decrypts == (1 if certificate == NON_EXPORTABLE else 0)


@pytest.mark.parametrize(
    "tokens",
    ["wrong-audience", "wrong-app", "forged", "none"],
)
def test_bad_validation_tokens_are_refused(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent], tokens: str
) -> None:
    """A wrong-audience, non-Change-Tracking, forged or missing validation token refuses the batch 401."""
    import jwt

    public, cert_id = _public_key(devstack, EXPORTABLE)
    n = notification(
        client_state=CLIENT_STATE,
        encryptedContent=encrypt_like_graph({"id": "abc"}, public, certificate_id=cert_id),
    )
    good = _token(devstack)
    values = {
        "wrong-audience": [_token(devstack, audience=str(uuid.uuid4()))],
        "wrong-app": [_token(devstack, appid=str(uuid.uuid4()))],
        "forged": [
            jwt.encode(
                jwt.decode(good, options={"verify_signature": False}),
                rsa.generate_private_key(public_exponent=65537, key_size=2048),
                algorithm="RS256",
                headers={"kid": jwt.get_unverified_header(good)["kid"]},
            )
        ],
        "none": [],
    }[tokens]
    response = _post({"value": [n], "validationTokens": values})
    assert response.status_code == 401
    assert queue_depth(webhook_env) == 0


def test_tampered_data_signature_is_rejected_not_retried(
    devstack: OfflineTenant, webhook_env: Any, received: list[WebhookEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tampered dataSignature never reaches the handler: the run is failed, rejected, not retried."""
    monkeypatch.setenv("WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE", EXPORTABLE)
    public, cert_id = _public_key(devstack, EXPORTABLE)
    encrypted = encrypt_like_graph({"id": "abc"}, public, certificate_id=cert_id)
    encrypted["dataSignature"] = encrypt_like_graph({"id": "other"}, public)["dataSignature"]
    n = notification(client_state=CLIENT_STATE, encryptedContent=encrypted)
    assert _post({"value": [n], "validationTokens": [_token(devstack)]}).status_code == 202
    assert run_queue(webhook_env) == {"ok": 1, "failed": 0, "poisoned": 0}
    assert received == []
    runs = ledger().query(Kind.WEBHOOK, "graph", status=Status.FAILED).runs
    assert len(runs) == 1
    assert runs[0].detail["rejected"] is True
    assert runs[0].error is not None
    assert "dataSignature" in runs[0].error.message
