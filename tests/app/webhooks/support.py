"""Test helpers for webhooks: content encrypted and tokens signed the way Microsoft Graph documents."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.webhooks._rich import CHANGE_TRACKING_APP_ID

TENANT = "434b7530-0ab7-490d-b439-d97439cdf1c4"
APP_ID = "316b4b46-544f-4d74-aec8-701c7e328ddb"


def encrypt_like_graph(
    resource: dict[str, Any], public_key: rsa.RSAPublicKey, *, certificate_id: str = "cert/1"
) -> dict[str, Any]:
    """`encryptedContent` as Graph builds it: a fresh AES-256 key, CBC with IV = key[:16], PKCS7,
    HMAC-SHA256 of the ciphertext, and the key under RSA-OAEP (SHA-1) with the certificate."""
    key = os.urandom(32)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(json.dumps(resource).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    data = encryptor.update(padded) + encryptor.finalize()
    signature = hmac.new(key, data, hashlib.sha256).digest()
    data_key = public_key.encrypt(key, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
    return {
        "data": base64.b64encode(data).decode(),
        "dataSignature": base64.b64encode(signature).decode(),
        "dataKey": base64.b64encode(data_key).decode(),
        "encryptionCertificateId": certificate_id,
        "encryptionCertificateThumbprint": "00" * 20,
    }


def validation_token(
    key: rsa.RSAPrivateKey,
    kid: str,
    *,
    issuer: str,
    tenant: str = TENANT,
    audience: str = APP_ID,
    appid: str = CHANGE_TRACKING_APP_ID,
    lifetime_s: int = 3600,
) -> str:
    """A v1 token as Graph's Change Tracking app carries in `validationTokens`."""
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
        "appid": appid,
        "tid": tenant,
        "oid": str(uuid.uuid4()),
        "sub": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def notification(
    *, client_state: str = "s3cret-state", resource: str = "users/abc", **extra: Any
) -> dict[str, Any]:
    """One Graph change notification for a user."""
    return {
        "subscriptionId": "5b3a4a6c-0000-4000-8000-000000000001",
        "subscriptionExpirationDateTime": "2026-12-20T00:00:00Z",
        "changeType": "updated",
        "resource": resource,
        "resourceData": {"@odata.type": "#Microsoft.Graph.User", "id": resource.rsplit("/", 1)[-1]},
        "clientState": client_state,
        "tenantId": TENANT,
        **extra,
    }


# -- the app against the devstack and Azurite ---------------------------------------------

SECRET_STANDARD = "webhook-standard"
CLIENT_STATE_SECRET = "webhook-graph-clientstate"


def put_secret(devstack: Any, name: str, value: str) -> None:
    """Add a new version of a Key Vault secret through the emulator's control endpoint."""
    from tests.conftest import tls_session

    with tls_session(devstack.state()["caBundle"]) as s:
        s.put(
            f"{devstack.servers['keyvault'].url}/_devstack/secrets/{name}", json={"value": value}, timeout=10
        ).raise_for_status()


def secret_value(devstack: Any, name: str) -> str:
    """The latest value of a seeded secret, read from the emulator's model (as a sender would hold it)."""
    version = devstack.tenant.vault.latest_secret(name)
    assert version is not None
    return str(version.value)


def queue_depth(store: Any) -> int:
    """Messages waiting in the webhook queue (visible ones)."""
    props = store.queue("webhook-events").get_queue_properties()
    return int(props.approximate_message_count or 0)


def run_queue(store: Any, *, max_dequeue: int = 5, rounds: int = 50) -> dict[str, int]:
    """Drain the webhook queue through function_app's queue function, as the Functions host does:
    delete on success, make visible again on failure, move to `-poison` after `max_dequeue` tries."""
    from azure.functions.queue import QueueMessage

    import function_app
    from devstack.host.invocation import InvocationContext, invocation_traceparent

    queue = store.queue("webhook-events")
    seen = {"ok": 0, "failed": 0, "poisoned": 0}
    for _ in range(rounds):
        messages = list(queue.receive_messages(max_messages=32, visibility_timeout=60))
        if not messages:
            return seen
        for m in messages:
            msg = QueueMessage(id=m.id, body=bytes(m.content), dequeue_count=m.dequeue_count)  # type: ignore[no-untyped-call]
            try:
                context = InvocationContext(m.id, "webhooks_process", ".", invocation_traceparent())
                function_app.webhooks_process(msg, context)
            except Exception:
                if (m.dequeue_count or 0) >= max_dequeue:
                    store.queue("webhook-events-poison").send_message(m.content)
                    queue.delete_message(m)
                    seen["poisoned"] += 1
                else:
                    queue.update_message(m, visibility_timeout=0)
                    seen["failed"] += 1
                continue
            queue.delete_message(m)
            seen["ok"] += 1
    return seen


def graph_control(devstack: Any, method: str, path: str, body: Any = None) -> Any:
    """Call the Graph emulator's control endpoint `/_devstack/{path}`; its JSON answer (or None)."""
    from tests.conftest import tls_session

    with tls_session(devstack.state()["caBundle"]) as s:
        answer = s.request(method, f"{devstack.servers['graph'].url}/_devstack/{path}", json=body, timeout=60)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def graph_subscription(devstack: Any, sub_id: str) -> dict[str, Any] | None:
    """The subscription as Graph holds it (the emulator's control endpoint lists every one)."""
    body = graph_control(devstack, "GET", "subscriptions")
    return next((x for x in body["value"] if x["id"] == sub_id), None)


def wait_delivered(devstack: Any, timeout_s: float = 30) -> list[dict[str, Any]]:
    """Wait until Graph has nothing queued or in flight; every delivery attempt so far."""
    body = graph_control(devstack, "GET", f"notifications?wait={timeout_s}")
    assert body["idle"], body
    deliveries: list[dict[str, Any]] = body["deliveries"]
    return deliveries


@contextlib.contextmanager
def storage_down() -> Iterator[None]:
    """The app's storage pointed at a port nobody listens on (queues, tables, blobs) for the block."""
    from shared.storage import StorageTarget, open_account, use_account

    dead = "http://127.0.0.1:9/devstoreaccount1"
    connection_string = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        + base64.b64encode(b"k" * 64).decode()
        + f";QueueEndpoint={dead};TableEndpoint={dead};BlobEndpoint={dead};"
    )
    with use_account(
        open_account(StorageTarget("AzureWebJobsStorage", connection_string=connection_string), prefix="dead")
    ):
        yield
