"""Change-notification subscriptions: the validation handshake, renewal, and delivery.

No HTTP server code here; the outbound calls Graph makes to a subscriber (validation POST,
notifications) go through `requests` with TLS verified against the devstack CA.

Devstack difference: Graph requires an https `notificationUrl`; here plain http is also
accepted for loopback hosts (127.0.0.1, localhost, ::1), because the local Functions host
serves plain http. Any other http URL gets the 400 Graph gives.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import datetime as dt
import os
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.graph.exceptions import ExtensionError, InvalidRequest, ResourceNotFound, ValidationError
from devstack.graph.models import Change
from devstack.graph.notifications import Batch, Delivery, encrypt_resource
from devstack.graph.permissions import SUBSCRIPTION_RESOURCES, authorize
from devstack.tenant.models import Tenant
from devstack.tenant.pki import utcnow

VALIDATION_TIMEOUT_S = 10.0  # Graph waits 10 s for the validation answer
MAX_VALIDATION_ANSWER = 64 * 1024
DELIVERY_TIMEOUT_S = 10.0
MAX_CLIENT_STATE = 128
# Maximum subscription lifetime per resource (minutes): directory objects.
MAX_LIFETIME_MIN: Mapping[str, int] = {"users": 41760, "groups": 41760}
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_ODATA_TYPES = {"users": "#Microsoft.Graph.User", "groups": "#Microsoft.Graph.Group"}


@dataclass
class Subscription:
    id: str
    resource: str
    change_type: str
    notification_url: str
    expiration: dt.datetime
    application_id: str
    creator_id: str
    client_state: str | None = None
    lifecycle_notification_url: str | None = None
    include_resource_data: bool = False
    encryption_certificate: str | None = None  # base64 DER, public only
    encryption_certificate_id: str | None = None
    # Devstack bookkeeping (not in Graph's resource): a reauthorizationRequired sent and not yet
    # answered, and when the subscriber last called reauthorize.
    reauthorization_required: bool = False
    reauthorized_at: dt.datetime | None = None

    def matches(self, change: Change) -> bool:
        """Whether `change` is one this subscription asked for (resource and change type)."""
        if change.change_type not in self.change_type.split(","):
            return False
        parts = [p.lower() for p in self.resource.strip("/").split("/")]
        if parts[0] != change.resource:
            return False
        if len(parts) == 1:
            return True
        if parts[1] != change.object_id.lower():
            return False
        # groups/{id}/members: only membership changes of that group
        return len(parts) == 2 or (
            parts[2] == "members" and bool(change.members_added or change.members_removed)
        )

    @property
    def resource_kind(self) -> str:
        return self.resource.strip("/").split("/")[0].lower()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_notification_url,
            "expirationDateTime": graph_time7(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": self.include_resource_data,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": self.encryption_certificate,
            "encryptionCertificateId": self.encryption_certificate_id,
            "notificationQueryOptions": None,
            "notificationUrlAppId": None,
        }


def graph_time7(t: dt.datetime) -> str:
    """Graph writes subscription times with 7 fractional digits: 2026-11-05T10:00:00.1234567Z."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


_STRING_PROPERTIES = (
    "changeType",
    "notificationUrl",
    "resource",
    "expirationDateTime",
    "clientState",
    "lifecycleNotificationUrl",
)


def _check_strings(spec: Mapping[str, Any]) -> None:
    """The subscription's string properties must be JSON strings (Graph does not convert numbers)."""
    for name in _STRING_PROPERTIES:
        value = spec.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(f"Invalid value for property '{name}': a string is expected.")  # ≈


def _parse_time(value: Any) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"Invalid value for expirationDateTime: '{value}'.") from None  # ≈
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass
class DeliveryReport:
    """What the subscriber answered to a notification Graph sent (for the control endpoint)."""

    url: str
    status: int | None
    body: dict[str, Any]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "error": self.error, "notification": self.body}


@dataclass
class SubscriptionStore:
    """The tenant's subscriptions and the outbound HTTP Graph does for them."""

    tenant: Tenant
    validation_timeout_s: float = VALIDATION_TIMEOUT_S
    _subs: dict[str, Subscription] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ca_file: str | None = None
    delivery: Delivery = field(init=False)

    def __post_init__(self) -> None:
        self.delivery = Delivery(self.tenant, self._session)

    # -- CRUD -----------------------------------------------------------------
    def create(self, spec: Mapping[str, Any], claims: Mapping[str, Any]) -> Subscription:
        _check_strings(spec)
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not spec.get(name):
                raise InvalidRequest(f"Required property '{name}' is missing.")  # ≈
        resource = str(spec["resource"])
        kind = resource.strip("/").split("/")[0].lower()
        if kind not in MAX_LIFETIME_MIN:
            raise InvalidRequest(f"Resource '{resource}' is not supported for subscriptions.")  # ≈
        # Subscribing needs the permission to read the resource itself.
        authorize(claims, SUBSCRIPTION_RESOURCES[kind])
        change_types = [c.strip() for c in str(spec["changeType"]).split(",")]
        if not change_types or any(c not in CHANGE_TYPES for c in change_types):
            raise InvalidRequest(f"Invalid changeType '{spec['changeType']}'.")  # ≈
        client_state = spec.get("clientState")
        if client_state is not None and len(str(client_state)) > MAX_CLIENT_STATE:
            raise InvalidRequest(
                f"clientState must not exceed {MAX_CLIENT_STATE} characters."  # ≈
            )
        expiration = self._check_expiration(kind, spec["expirationDateTime"])
        url = self._check_url(str(spec["notificationUrl"]))
        lifecycle = spec.get("lifecycleNotificationUrl")
        lifecycle_url = self._check_url(str(lifecycle)) if lifecycle else None
        rich = spec.get("includeResourceData") is True
        certificate, certificate_id = self._check_encryption(spec) if rich else (None, None)
        self.validate_endpoint(url)
        if lifecycle_url and lifecycle_url != url:
            self.validate_endpoint(lifecycle_url)
        sub = Subscription(
            id=str(uuid.uuid4()),
            resource=resource,
            change_type=",".join(change_types),
            notification_url=url,
            expiration=expiration,
            application_id=str(claims.get("appid") or claims.get("azp") or ""),
            creator_id=str(claims.get("oid", "")),
            client_state=None if client_state is None else str(client_state),
            lifecycle_notification_url=lifecycle_url,
            include_resource_data=rich,
            encryption_certificate=certificate,
            encryption_certificate_id=certificate_id,
        )
        with self._lock:
            self._subs[sub.id] = sub
        return sub

    @staticmethod
    def _check_encryption(spec: Mapping[str, Any]) -> tuple[str, str]:
        """Rich notifications need a public RSA certificate (2048-4096 bits) and its id."""
        raw, cert_id = spec.get("encryptionCertificate"), spec.get("encryptionCertificateId")
        if not isinstance(raw, str) or not raw or not isinstance(cert_id, str) or not cert_id:
            raise InvalidRequest(
                "encryptionCertificate and encryptionCertificateId are required "  # ≈
                "when includeResourceData is true."
            )
        try:
            key = x509.load_der_x509_certificate(base64.b64decode(raw, validate=True)).public_key()
        except (ValueError, binascii.Error):
            raise InvalidRequest(
                "encryptionCertificate is not a valid base64 X.509 certificate."
            ) from None  # ≈
        if not isinstance(key, rsa.RSAPublicKey) or not 2048 <= key.key_size <= 4096:
            raise InvalidRequest("encryptionCertificate must hold an RSA key of 2048 to 4096 bits.")  # ≈
        return raw, cert_id

    def all(self) -> list[Subscription]:
        with self._lock:
            return list(self._subs.values())

    def list(self, claims: Mapping[str, Any]) -> list[Subscription]:
        app_id = str(claims.get("appid") or claims.get("azp") or "")
        with self._lock:
            return [s for s in self._subs.values() if s.application_id == app_id]

    def get(self, sub_id: str, claims: Mapping[str, Any] | None = None) -> Subscription:
        """A subscription by id; another application's subscriptions are invisible (404)."""
        with self._lock:
            sub = self._subs.get(sub_id)
        app_id = str(claims.get("appid") or claims.get("azp") or "") if claims is not None else None
        if sub is None or (app_id is not None and sub.application_id != app_id):
            raise ResourceNotFound(sub_id)
        return sub

    def renew(self, sub_id: str, spec: Mapping[str, Any], claims: Mapping[str, Any]) -> Subscription:
        sub = self.get(sub_id, claims)
        _check_strings(spec)
        if "expirationDateTime" in spec:
            sub.expiration = self._check_expiration(sub.resource_kind, spec["expirationDateTime"])
        return sub

    def reauthorize(self, sub_id: str, claims: Mapping[str, Any]) -> Subscription:
        """`POST /subscriptions/{id}/reauthorize` (learn.microsoft.com/graph/api/subscription-reauthorize):
        the caller must still hold the permission the subscription needs; no body, 204."""
        sub = self.get(sub_id, claims)
        authorize(claims, SUBSCRIPTION_RESOURCES[sub.resource_kind])
        if sub.expiration <= utcnow():
            raise ResourceNotFound(sub_id)  # an expired subscription is gone for Graph
        with self._lock:
            sub.reauthorization_required = False
            sub.reauthorized_at = utcnow()
        return sub

    def delete(self, sub_id: str, claims: Mapping[str, Any] | None = None) -> None:
        sub = self.get(sub_id, claims)
        with self._lock:
            self._subs.pop(sub.id, None)

    # -- checks ---------------------------------------------------------------
    def _check_expiration(self, kind: str, value: Any) -> dt.datetime:
        expiration = _parse_time(value)
        now = utcnow()
        if expiration <= now:
            raise InvalidRequest("Subscription expiration must be in the future.")  # ≈
        max_minutes = MAX_LIFETIME_MIN[kind]
        if expiration > now + dt.timedelta(minutes=max_minutes):
            raise ExtensionError.too_long(max_minutes)
        return expiration

    @staticmethod
    def _check_url(url: str) -> str:
        try:
            parts = urllib.parse.urlsplit(url)
            host, _ = parts.hostname, parts.port  # a bad port or IPv6 literal raises here
        except ValueError:
            host = None
        printable = len(url) <= 2048 and all(0x21 <= ord(c) <= 0x7E for c in url)
        if host and printable and (parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)):
            return url
        raise InvalidRequest(
            "Subscription validation request failed. NotificationUrl must be a valid https URL."  # ≈
        )

    # -- outbound HTTP --------------------------------------------------------
    def _session(self) -> requests.Session:
        session = requests.Session()
        # Ignore REQUESTS_CA_BUNDLE and proxies from the environment: trust exactly the devstack CA.
        session.trust_env = False
        session.verify = self._ca_path()
        return session

    def _ca_path(self) -> str:
        # requests takes a CA bundle by path; the CA certificate is public, so a temp file is fine.
        with self._lock:
            if self._ca_file is None:
                fd, path = tempfile.mkstemp(prefix="devstack-graph-ca-", suffix=".pem")
                with os.fdopen(fd, "wb") as f:
                    f.write(self.tenant.ca.pem())
                self._ca_file = path
                atexit.register(self.close)  # the emulator has no stop hook; remove it at exit
            return self._ca_file

    def close(self) -> None:
        with self._lock:
            if self._ca_file is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._ca_file)
                self._ca_file = None

    def validate_endpoint(self, url: str) -> None:
        """Graph's handshake: POST ?validationToken=..., expect 200 echoing the token within 10 s."""
        token = (
            f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        )
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        target = f"{url}{separator}{urllib.parse.urlencode({'validationToken': token})}"
        outcome: dict[str, Any] = {}
        deadline = time.monotonic() + self.validation_timeout_s
        worker = threading.Thread(
            target=self._validation_exchange, args=(target, deadline, outcome), daemon=True
        )
        worker.start()
        # The whole exchange, not each read: a subscriber trickling bytes cannot hold the create call.
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive() or isinstance(outcome.get("error"), requests.Timeout | TimeoutError):
            raise ValidationError.timed_out()
        if "error" in outcome:
            raise InvalidRequest.validation_failed()
        status, text = outcome["answer"]
        if status != 200 or text != token:
            raise InvalidRequest.validation_failed()

    def _validation_exchange(self, target: str, deadline: float, outcome: dict[str, Any]) -> None:
        """POST the validation request and read at most 64 KB of answer before `deadline`."""
        try:
            with self._session() as session:
                answer = session.post(
                    target,
                    data=b"",
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                    timeout=self.validation_timeout_s,
                    stream=True,
                )
                body = bytearray()
                for chunk in answer.iter_content(1024):
                    body += chunk
                    if time.monotonic() > deadline:
                        raise TimeoutError("validation deadline")
                    if len(body) > MAX_VALIDATION_ANSWER:
                        raise ValueError("validation answer too long")
                try:
                    text = body.decode(answer.encoding or "utf-8", "replace")
                except LookupError:
                    text = body.decode("utf-8", "replace")
                outcome["answer"] = (answer.status_code, text)
        except (requests.RequestException, OSError, ValueError) as exc:
            outcome["error"] = exc

    # -- change notifications ---------------------------------------------------
    def on_change(self, change: Change, render: Callable[[Change], dict[str, Any]]) -> None:
        """Queue a notification for every live subscription that asked for `change`."""
        now = utcnow()
        for sub in self.all():
            if sub.expiration <= now or not sub.matches(change):
                continue
            item = self._item(sub, change.change_type, change.object_id, change.resource)
            if sub.include_resource_data and sub.encryption_certificate and sub.encryption_certificate_id:
                item["encryptedContent"] = encrypt_resource(
                    render(change), sub.encryption_certificate, sub.encryption_certificate_id
                )
                self.delivery.enqueue(sub.notification_url, item, rich_app=sub.application_id)
            else:
                self.delivery.enqueue(sub.notification_url, item)

    def _item(self, sub: Subscription, change_type: str, resource_id: str, kind: str) -> dict[str, Any]:
        odata_id = f"{kind.capitalize()}/{resource_id}"
        return {
            "id": str(uuid.uuid4()),
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time7(sub.expiration),
            "changeType": change_type,
            "resource": odata_id,
            "resourceData": {
                "@odata.type": _ODATA_TYPES.get(kind, "#Microsoft.Graph.DirectoryObject"),
                "@odata.id": odata_id,
                "id": resource_id,
                "organizationId": self.tenant.tenant_id,
            },
            "clientState": sub.client_state,
            "tenantId": self.tenant.tenant_id,
        }

    def lifecycle(self, events: Sequence[tuple[str, str]]) -> tuple[Batch, ...]:
        """Lifecycle events due together, `(subscription id, lifecycleEvent)`: queued at once, so the
        events for one lifecycle URL go in one POST (`Delivery`); the batches they joined.

        Every id and event is checked before anything is queued. Graph acts as it says:
        `subscriptionRemoved` removes the subscription, `reauthorizationRequired` marks it.
        """
        subs = [(self.get(sub_id), event) for sub_id, event in events]
        for _, event in subs:
            if event not in LIFECYCLE_EVENTS:
                raise InvalidRequest(f"Unknown lifecycleEvent '{event}'.")
        batches: dict[str, Batch] = {}  # by id, in the order first joined
        for sub, event in subs:
            item: dict[str, Any] = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": graph_time7(sub.expiration),
                "tenantId": self.tenant.tenant_id,
                "clientState": sub.client_state,
                "lifecycleEvent": event,
            }
            if event == "subscriptionRemoved":
                with self._lock:
                    self._subs.pop(sub.id, None)
            elif event == "reauthorizationRequired":
                sub.reauthorization_required = True
            url = sub.lifecycle_notification_url or sub.notification_url
            batch = self.delivery.enqueue(url, item, kind="lifecycle")
            batches.setdefault(batch.id, batch)
        return tuple(batches.values())

    def notify(
        self,
        sub_id: str,
        *,
        change_type: str | None = None,
        resource_id: str | None = None,
        lifecycle_event: str | None = None,
    ) -> DeliveryReport:
        """Send one change (or lifecycle) notification for `sub_id` and report the answer; one that
        is not acknowledged (2xx) is then redelivered like any batch (`Delivery.redeliver`).

        A lifecycle event joins the lifecycle batch for its URL (`lifecycle`: events due within the
        batch window go together) and the report is that batch's first attempt.
        """
        sub = self.get(sub_id)
        if lifecycle_event:
            (batch,) = self.lifecycle([(sub.id, lifecycle_event)])
            window = self.delivery.settings.batch_window_ms / 1000
            if not batch.attempted.wait(window + self.delivery.settings.timeout_s + DELIVERY_TIMEOUT_S):
                return DeliveryReport(batch.url, None, {"value": batch.items}, "not attempted yet")
            assert batch.first is not None
            entry, body = batch.first
            return DeliveryReport(batch.url, entry["status"], body, entry["error"])
        kind = sub.resource_kind
        rid = resource_id or str(uuid.uuid4())
        odata_id = f"{kind.capitalize()}/{rid}"
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time7(sub.expiration),
            "changeType": change_type or sub.change_type.split(",")[0],
            "resource": odata_id,
            "resourceData": {
                "@odata.type": _ODATA_TYPES.get(kind, "#Microsoft.Graph.DirectoryObject"),
                "@odata.id": odata_id,
                "id": rid,
                "organizationId": self.tenant.tenant_id,
            },
            "clientState": sub.client_state,
            "tenantId": self.tenant.tenant_id,
        }
        url = sub.notification_url
        body = {"value": [item]}
        try:
            with self._session() as session:
                answer = session.post(url, json=body, timeout=DELIVERY_TIMEOUT_S)
        except requests.RequestException as exc:
            self.delivery.redeliver(url, [item])  # Graph retries what was not acknowledged
            return DeliveryReport(url, None, body, f"{type(exc).__name__}: {exc}")
        if not 200 <= answer.status_code < 300:
            self.delivery.redeliver(url, [item])
        return DeliveryReport(url, answer.status_code, body)
