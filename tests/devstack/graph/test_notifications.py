"""Graph's change notification delivery: batches on writes, rich content, redelivery, duplicates."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.pki import IssuedCertificate, new_rsa_key
from devstack.tenant.tokens import TokenRejected
from shared.webhooks._refusal import Refused
from shared.webhooks._rich import decrypt_content, parse_encrypted_content, rsa_oaep_unwrapper
from tests.devstack.graph.support import Subscriber, app_token, bearer, error, subscription

CHANGE_TRACKING = "0bf30f3b-4a52-48df-9a82-234910c4a086"


@pytest.fixture
def writer(devstack: OfflineTenant, http: requests.Session) -> requests.Session:
    roles = ["User.ReadWrite.All", "User.Read.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All"]
    http.headers.update(bearer(app_token(devstack, roles=roles)))
    return http


def _settings(http: requests.Session, base: str, **spec: Any) -> None:
    assert http.put(f"{base}/_devstack/notifications", json=spec).status_code == 200


def _deliveries(http: requests.Session, base: str, wait: float = 10) -> list[dict[str, Any]]:
    body = http.get(f"{base}/_devstack/notifications", params={"wait": str(wait)}).json()
    deliveries: list[dict[str, Any]] = body["deliveries"]
    return deliveries


def _subscribe(http: requests.Session, graph: str, url: str, **overrides: Any) -> dict[str, Any]:
    created = http.post(f"{graph}/subscriptions", json=subscription(url, **overrides))
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def test_writes_are_notified_in_one_batch(
    devstack: OfflineTenant, writer: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """Two user updates within the batch window reach the subscriber as one POST with both items."""
    sub = _subscribe(writer, graph, subscriber.url, changeType="updated,deleted")
    first, second = devstack.tenant.users[10].object_id, devstack.tenant.users[11].object_id
    writer.patch(f"{graph}/users/{first}", json={"jobTitle": "One"})
    writer.patch(f"{graph}/users/{second}", json={"jobTitle": "Two"})
    (batch,) = subscriber.wait_for(1)
    items = batch["value"]
    assert [i["resourceData"]["id"] for i in items] == [first, second]
    for item in items:
        assert item["subscriptionId"] == sub["id"]
        assert item["clientState"] == "s3cret-state"
        assert item["changeType"] == "updated"
        assert item["tenantId"] == devstack.tenant.tenant_id
        assert item["resource"] == f"Users/{item['resourceData']['id']}"
        assert "encryptedContent" not in item
    assert "validationTokens" not in batch
    (delivery,) = _deliveries(writer, graph_base)
    assert (delivery["status"], delivery["delivered"], delivery["items"]) == (202, True, 2)


def test_only_subscribed_changes_are_sent(
    devstack: OfflineTenant, writer: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """A subscription to one group's members hears its membership changes, not other groups' or users'."""
    group = next(g for g in devstack.tenant.groups if g.mail_nickname == "identity-admins")
    _subscribe(writer, graph, subscriber.url, resource=f"groups/{group.object_id}/members")
    user = devstack.tenant.users[20].object_id
    writer.patch(f"{graph}/users/{user}", json={"jobTitle": "Ignored"})
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user}"}
    assert writer.post(f"{graph}/groups/{group.object_id}/members/$ref", json=ref).status_code == 204
    writer.delete(f"{graph}/groups/{group.object_id}/members/{user}/$ref")
    _deliveries(writer, graph_base)
    items = [i for batch in subscriber.received for i in batch["value"]]
    assert [i["resource"] for i in items] == [f"Groups/{group.object_id}"] * 2


def _subscribe_rich(
    devstack: OfflineTenant, http: requests.Session, graph: str, url: str
) -> tuple[dict[str, Any], IssuedCertificate]:
    """A subscription with includeResourceData and a new encryption certificate `cert-v1`; both."""
    cert = devstack.tenant.ca.issue("notification-encryption", key=new_rsa_key())
    der = base64.b64encode(cert.certificate.public_bytes(serialization.Encoding.DER)).decode()
    rich = {"includeResourceData": True, "encryptionCertificate": der, "encryptionCertificateId": "cert-v1"}
    return _subscribe(http, graph, url, **rich), cert


def test_rich_notification_decrypts_and_carries_validation_tokens(
    devstack: OfflineTenant, writer: requests.Session, graph: str, subscriber: Subscriber
) -> None:
    """With includeResourceData the item's encryptedContent decrypts (with the app's own decoder) to the
    user, and validationTokens are v1 tokens of Change Tracking for our app, signed by the tenant."""
    sub, cert = _subscribe_rich(devstack, writer, graph, subscriber.url)
    assert sub["includeResourceData"] is True
    user = devstack.tenant.users[30]
    writer.patch(f"{graph}/users/{user.object_id}", json={"jobTitle": "Encrypted"})
    (batch,) = subscriber.wait_for(1)
    (item,) = batch["value"]
    content = item["encryptedContent"]
    assert content["encryptionCertificateId"] == "cert-v1"
    assert content["encryptionCertificateThumbprint"] == cert.sha1_thumbprint
    resource = decrypt_content(parse_encrypted_content(content), rsa_oaep_unwrapper(cert.key))
    assert (resource["id"], resource["jobTitle"]) == (user.object_id, "Encrypted")
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    (token,) = batch["validationTokens"]
    claims = devstack.tenant.issuer.verify(token, app.app_id)
    assert claims["appid"] == CHANGE_TRACKING
    assert claims["iss"] == devstack.tenant.issuer.issuer_v1
    assert claims["ver"] == "1.0"
    change_tracking = writer.get(
        f"{graph}/servicePrincipals(appId='{CHANGE_TRACKING}')",
        headers=bearer(app_token(devstack, roles=["Application.Read.All"])),
    ).json()
    assert (change_tracking["displayName"], change_tracking["id"]) == (
        "Microsoft Graph Change Tracking",
        claims["oid"],
    )


@pytest.mark.parametrize(
    ("tamper", "rejected_as"),
    [("forgedToken", "signature"), ("wrongAudience", "audience"), ("dataSignature", None)],
)
def test_tamper_spoils_the_next_rich_batch_and_its_redeliveries(
    devstack: OfflineTenant,
    writer: requests.Session,
    graph: str,
    graph_base: str,
    subscriber: Subscriber,
    tamper: str,
    rejected_as: str | None,
) -> None:
    """tamper=forgedToken / wrongAudience gives validation tokens the tenant's keys or our app reject;
    tamper=dataSignature a dataSignature that does not match; a redelivery repeats it, then it is spent."""
    _, cert = _subscribe_rich(devstack, writer, graph, subscriber.url)
    _settings(writer, graph_base, tamper=tamper, retryBaseS=0.2)
    subscriber.answers = [401]
    user = devstack.tenant.users[31]
    writer.patch(f"{graph}/users/{user.object_id}", json={"jobTitle": "Tampered"})
    first, again = subscriber.wait_for(2)
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    for batch in (first, again):
        (token,) = batch["validationTokens"]
        content = parse_encrypted_content(batch["value"][0]["encryptedContent"])
        if rejected_as is None:
            devstack.tenant.issuer.verify(token, app.app_id)
            with pytest.raises(Refused, match="dataSignature"):
                decrypt_content(content, rsa_oaep_unwrapper(cert.key))
        else:
            with pytest.raises(TokenRejected) as caught:
                devstack.tenant.issuer.verify(token, app.app_id)
            assert caught.value.kind == rejected_as
            decrypt_content(content, rsa_oaep_unwrapper(cert.key))
    deliveries = _deliveries(writer, graph_base)
    assert [(d["status"], d["tamper"]) for d in deliveries] == [(401, tamper), (202, tamper)]
    assert writer.get(f"{graph_base}/_devstack/notifications").json()["settings"]["tamper"] is None
    assert writer.put(f"{graph_base}/_devstack/notifications", json={"tamper": "nonsense"}).status_code == 400


def test_rich_subscription_needs_a_certificate(
    writer: requests.Session, graph: str, subscriber: Subscriber
) -> None:
    """includeResourceData without encryptionCertificate, or with a non-certificate, is 400 InvalidRequest."""
    status, code, _ = error(
        writer.post(f"{graph}/subscriptions", json=subscription(subscriber.url, includeResourceData=True))
    )
    assert (status, code) == (400, "InvalidRequest")
    bad = subscription(
        subscriber.url,
        includeResourceData=True,
        encryptionCertificate="bm9wZQ==",
        encryptionCertificateId="x",
    )
    assert error(writer.post(f"{graph}/subscriptions", json=bad))[:2] == (400, "InvalidRequest")


def test_failed_delivery_is_retried_with_backoff(
    devstack: OfflineTenant, writer: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """A 500, then a 503, then 202: the same batch is delivered three times, with growing gaps."""
    _settings(writer, graph_base, retryBaseS=0.3)
    subscriber.answers = [500, 503]
    _subscribe(writer, graph, subscriber.url)
    writer.patch(f"{graph}/users/{devstack.tenant.users[40].object_id}", json={"jobTitle": "Retry"})
    received = subscriber.wait_for(3)
    assert len(received) == 3
    assert received[0] == received[1] == received[2]
    deliveries = _deliveries(writer, graph_base)
    assert [(d["attempt"], d["status"], d["delivered"]) for d in deliveries] == [
        (1, 500, False),
        (2, 503, False),
        (3, 202, True),
    ]
    assert len({d["batchId"] for d in deliveries}) == 1


def test_receiver_slower_than_three_seconds_gets_it_again(
    devstack: OfflineTenant, writer: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """An answer that takes longer than Graph's 3 s counts as failed: the batch comes again."""
    _settings(writer, graph_base, retryBaseS=0.2)
    subscriber.delays = [3.5]
    _subscribe(writer, graph, subscriber.url)
    started = time.monotonic()
    writer.patch(f"{graph}/users/{devstack.tenant.users[41].object_id}", json={"jobTitle": "Slow"})
    received = subscriber.wait_for(2, timeout=20)
    assert len(received) == 2
    assert received[0] == received[1]
    deliveries = _deliveries(writer, graph_base)
    assert deliveries[0]["error"] == "timeout"
    assert deliveries[-1]["delivered"] is True
    assert time.monotonic() - started >= 3.0


def test_unacknowledged_lifecycle_notification_is_redelivered(
    writer: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """A lifecycle notification sent on demand and answered 503 comes again after the backoff."""
    _settings(writer, graph_base, retryBaseS=0.2)
    sub = _subscribe(writer, graph, subscriber.url)
    subscriber.answers = [503]
    notify = {"lifecycleEvent": "missed"}
    report = writer.post(f"{graph_base}/_devstack/subscriptions/{sub['id']}/notify", json=notify).json()
    assert report["status"] == 503
    first, again = subscriber.wait_for(2)
    assert first == again
    assert first["value"][0]["lifecycleEvent"] == "missed"
    deliveries = _deliveries(writer, graph_base)
    assert [(d["attempt"], d["status"], d["delivered"]) for d in deliveries] == [
        (1, 503, False),
        (2, 202, True),
    ]


def test_duplicates_on_demand(
    devstack: OfflineTenant, writer: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """With duplicates=1 the next batch arrives twice with the same item ids."""
    _settings(writer, graph_base, duplicates=1)
    _subscribe(writer, graph, subscriber.url)
    writer.patch(f"{graph}/users/{devstack.tenant.users[42].object_id}", json={"jobTitle": "Twice"})
    first, second = subscriber.wait_for(2)
    assert [i["id"] for i in first["value"]] == [i["id"] for i in second["value"]]
    assert [d["duplicate"] for d in _deliveries(writer, graph_base)] == [False, True]


def test_change_control_endpoint_notifies(
    devstack: OfflineTenant, writer: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """POST /_devstack/changes notifies subscribers as a write would; bad or unknown objects are refused."""
    _subscribe(writer, graph, subscriber.url, changeType="updated")
    user = devstack.tenant.users[43].object_id
    answer = writer.post(f"{graph_base}/_devstack/changes", json={"resource": "users", "id": user})
    assert answer.status_code == 202
    (batch,) = subscriber.wait_for(1)
    assert batch["value"][0]["resourceData"]["id"] == user
    assert (
        writer.post(f"{graph_base}/_devstack/changes", json={"resource": "apps", "id": user}).status_code
        == 400
    )
    missing = {"resource": "users", "id": "00000000-0000-0000-0000-000000000009"}
    assert writer.post(f"{graph_base}/_devstack/changes", json=missing).status_code == 404


def test_delivery_settings_are_validated(http: requests.Session, graph_base: str) -> None:
    """PUT /_devstack/notifications answers the settings; unknown fields and negative values are 400."""
    answer = http.put(f"{graph_base}/_devstack/notifications", json={"timeoutS": 1.5})
    assert answer.json()["timeoutS"] == 1.5
    assert http.put(f"{graph_base}/_devstack/notifications", json={"colour": 1}).status_code == 400
    assert http.put(f"{graph_base}/_devstack/notifications", json={"retryBaseS": -1}).status_code == 400
    assert http.put(f"{graph_base}/_devstack/notifications", data=b"[").status_code == 400
