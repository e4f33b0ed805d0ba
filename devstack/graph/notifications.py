"""Change notification delivery as Graph does it: batches, clientState, rich content, redelivery.

No HTTP server here: `Delivery` posts to subscribers with `requests` (TLS verified against the
devstack CA, loopback http allowed). How Graph delivers
(https://learn.microsoft.com/graph/change-notifications-delivery-webhooks,
https://learn.microsoft.com/graph/change-notifications-with-resource-data):
- changes for the same notification URL within `batchWindowMs` go in one POST `{"value": [...]}`
  (at most 100 items), each with `subscriptionId`, `changeType`, `resource`, `resourceData`,
  `clientState`, `tenantId`, `subscriptionExpirationDateTime`;
- lifecycle notifications the same way, in batches of their own: the events due together for one
  lifecycle URL (several subscriptions' `reauthorizationRequired`, `subscriptionRemoved`, `missed`)
  go in one POST `{"value": [...]}`, each item `subscriptionId`, `subscriptionExpirationDateTime`,
  `tenantId`, `clientState`, `lifecycleEvent` and nothing about a resource
  (https://learn.microsoft.com/graph/change-notifications-lifecycle-events, "Structure of a
  lifecycle notification");
- a subscription with `includeResourceData` gets `encryptedContent` per item: a fresh AES-256
  key, `data` = AES-CBC/PKCS7 of the resource JSON with IV = the key's first 16 bytes,
  `dataSignature` = base64 HMAC-SHA256 of `data` keyed with the AES key, `dataKey` = the key
  encrypted with RSA-OAEP (SHA-1) under the subscription's `encryptionCertificate`; the batch
  carries `validationTokens`, one JWT per subscribing app: v1, signed by the tenant's key, `aud`
  the app, `appid` Microsoft Graph Change Tracking (0bf30f3b-4a52-48df-9a82-234910c4a086);
- a receiver that does not answer 2xx within `timeoutS` (3 s) gets the same batch again after
  `retryBaseS`, doubling up to `retryMaxS`, until `retryForS` (4 h) have passed; at-least-once:
  `duplicates` makes the next N batches arrive twice.

Devstack only, for testing a receiver's refusals: `tamper` spoils the next batch with resource
data (and its redeliveries, which repeat it): "forgedToken" signs its validation tokens with a key
the tenant does not publish (same `kid`), "wrongAudience" issues them for another app, and
"dataSignature" replaces each item's `dataSignature` with one made with another key.

Every attempt is logged (`GET /_devstack/notifications`); nothing secret is logged (no keys, no
tokens: only ids, URLs, statuses and item counts).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from devstack.graph.representations import resource_sp_id
from devstack.tenant import models as m
from devstack.tenant.tokens import Principal

log = logging.getLogger(__name__)

CHANGE_TRACKING_APP_ID = m.CHANGE_TRACKING_APP_ID
MAX_ITEMS = 100
TAMPERINGS = frozenset({"forgedToken", "wrongAudience", "dataSignature"})
VALIDATION_TOKEN_LIFETIME_S = 3600


@dataclass
class DeliverySettings:
    """What `PUT /_devstack/notifications` changes (Graph's own values by default)."""

    batch_window_ms: int = 200
    timeout_s: float = 3.0
    retry_base_s: float = 60.0
    retry_max_s: float = 3600.0
    retry_for_s: float = 4 * 3600.0
    duplicates: int = 0  # the next N batches are delivered twice
    tamper: str | None = None  # the next rich batch is spoiled this way (see TAMPERINGS)

    _FIELDS: ClassVar[dict[str, tuple[str, type]]] = {
        "batchWindowMs": ("batch_window_ms", int),
        "timeoutS": ("timeout_s", float),
        "retryBaseS": ("retry_base_s", float),
        "retryMaxS": ("retry_max_s", float),
        "retryForS": ("retry_for_s", float),
        "duplicates": ("duplicates", int),
    }

    def to_json(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, attr) for name, (attr, _) in self._FIELDS.items()},
            "tamper": self.tamper,
        }

    def update(self, spec: Mapping[str, Any]) -> None:
        unknown = set(spec) - set(self._FIELDS) - {"tamper"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        parsed: dict[str, Any] = {}
        if "tamper" in spec:
            if spec["tamper"] is not None and spec["tamper"] not in TAMPERINGS:
                raise ValueError(f"tamper must be null or one of {', '.join(sorted(TAMPERINGS))}")
            parsed["tamper"] = spec["tamper"]
        for name, value in spec.items():
            if name == "tamper":
                continue
            attr, kind = self._FIELDS[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
            parsed[attr] = kind(value)
        for attr, value in parsed.items():
            setattr(self, attr, value)


@dataclass
class Batch:
    url: str
    items: list[dict[str, Any]]
    apps: set[str]  # subscribing app ids with rich items (one validation token each)
    due: float
    first_attempt: float | None = None
    attempt: int = 0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tamper: str | None = None
    kind: str = "change"  # or "lifecycle": the two are never mixed in one POST
    # The first attempt's log entry and body, for a caller waiting on it (the notify control).
    first: tuple[dict[str, Any], dict[str, Any]] | None = None
    attempted: threading.Event = field(default_factory=threading.Event)


def encrypt_resource(
    resource: Mapping[str, Any], certificate_b64: str, certificate_id: str
) -> dict[str, Any]:
    """`encryptedContent` for one item, as Graph builds it."""
    certificate = x509.load_der_x509_certificate(base64.b64decode(certificate_b64))
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    key = os.urandom(32)
    padder = sym_padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(resource).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    data = encryptor.update(plain) + encryptor.finalize()
    wrapped = public_key.encrypt(
        key,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303 - Graph's choice
    )
    return {
        "data": base64.b64encode(data).decode(),
        "dataSignature": base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode(),
        "dataKey": base64.b64encode(wrapped).decode(),
        "encryptionCertificateId": certificate_id,
        "encryptionCertificateThumbprint": m.sha1_hex(certificate),
    }


def change_tracking_principal() -> Principal:
    return Principal(
        object_id=resource_sp_id(CHANGE_TRACKING_APP_ID),  # its service principal in the seed
        app_id=CHANGE_TRACKING_APP_ID,
        display_name="Microsoft Graph Change Tracking",
        kind="Application",
    )


class Delivery:
    """Queues items per notification URL and posts them from one background thread."""

    def __init__(self, tenant: m.Tenant, session: Callable[[], requests.Session]) -> None:
        self.tenant = tenant
        self.session = session
        self.settings = DeliverySettings()
        self.log: list[dict[str, Any]] = []
        self._open: dict[tuple[str, str], Batch] = {}  # (url, kind) -> batch still collecting items
        self._due: list[Batch] = []  # batches waiting for their (re)delivery time
        self._in_flight = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- queueing -------------------------------------------------------------
    def enqueue(
        self, url: str, item: dict[str, Any], rich_app: str | None = None, *, kind: str = "change"
    ) -> Batch:
        """Add `item` to the batch collecting for `url` (a new one after the window or 100 items)."""
        with self._cond:
            self._start()
            batch = self._open.get((url, kind))
            if batch is None or len(batch.items) >= MAX_ITEMS:
                due = time.monotonic() + self.settings.batch_window_ms / 1000
                batch = Batch(url, [], set(), due, kind=kind)
                self._open[(url, kind)] = batch
                self._due.append(batch)
            batch.items.append(item)
            if rich_app:
                batch.apps.add(rich_app)
            self._cond.notify_all()
            return batch

    def redeliver(self, url: str, items: list[dict[str, Any]]) -> None:
        """Schedule a POST that was sent once and not acknowledged (a notification sent on demand)
        for redelivery, with the same backoff and time limit as any batch."""
        now = time.monotonic()
        batch = Batch(url, items, set(), now, first_attempt=now, attempt=1)
        with self._cond:
            self._start()
            self.log.append(
                {
                    "batchId": batch.id,
                    "url": url,
                    "attempt": 1,
                    "duplicate": False,
                    "subscriptionIds": sorted({str(i.get("subscriptionId")) for i in items}),
                    "items": len(items),
                    "status": None,
                    "error": "not acknowledged",
                    "delivered": False,
                    "tamper": None,
                    "at": dt.datetime.now(dt.UTC).isoformat(),
                }
            )
        self._reschedule(batch)

    def pending(self) -> int:
        with self._cond:
            return len(self._due) + self._in_flight

    def wait_idle(self, timeout_s: float) -> bool:
        """True once nothing is queued or in flight (for tests and the control endpoint)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._due or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def clear(self) -> None:
        with self._cond:
            self.log.clear()
            self._due.clear()
            self._open.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the worker -----------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="devstack-graph-delivery", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    ready = [b for b in self._due if b.due <= now]
                    if ready:
                        break
                    wait = min((b.due for b in self._due), default=now + 1.0) - now
                    self._cond.wait(max(0.005, min(wait, 1.0)))
                if self._closed:
                    return
                for batch in ready:
                    self._due.remove(batch)
                    if self._open.get((batch.url, batch.kind)) is batch:
                        del self._open[(batch.url, batch.kind)]
                    self._in_flight += 1
            for batch in ready:
                # One thread per POST: a slow receiver must not hold up the others.
                threading.Thread(target=self._deliver, args=(batch,), daemon=True).start()

    def _deliver(self, batch: Batch) -> None:
        try:
            copies = 1
            with self._cond:
                if batch.attempt == 0 and self.settings.duplicates > 0:
                    self.settings.duplicates -= 1
                    copies = 2
                if batch.attempt == 0 and batch.apps and self.settings.tamper:
                    batch.tamper, self.settings.tamper = self.settings.tamper, None
            for copy in range(copies):
                ok = self._post(batch, duplicate=copy > 0)
            if not ok:
                self._reschedule(batch)
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def _post(self, batch: Batch, *, duplicate: bool) -> bool:
        now = time.monotonic()
        if batch.first_attempt is None:
            batch.first_attempt = now
        batch.attempt += 0 if duplicate else 1
        body: dict[str, Any] = {"value": batch.items}
        if batch.apps:
            body["validationTokens"] = [self._validation_token(app) for app in sorted(batch.apps)]
        if batch.tamper:
            body = self._tampered(body, batch.tamper)
        status: int | None = None
        error: str | None = None
        try:
            with self.session() as session:
                answer = session.post(batch.url, json=body, timeout=self.settings.timeout_s)
            status = answer.status_code
        except requests.Timeout:
            error = "timeout"
        except requests.RequestException as exc:
            error = type(exc).__name__
        ok = status is not None and 200 <= status < 300
        entry = {
            "batchId": batch.id,
            "url": batch.url,
            "attempt": batch.attempt,
            "duplicate": duplicate,
            "subscriptionIds": sorted({str(i.get("subscriptionId")) for i in batch.items}),
            "items": len(batch.items),
            "status": status,
            "error": error,
            "delivered": ok,
            "tamper": batch.tamper,
            "at": dt.datetime.now(dt.UTC).isoformat(),
        }
        with self._cond:
            self.log.append(entry)
        if batch.first is None:
            batch.first = (entry, body)
            batch.attempted.set()
        log.info(
            "graph notification %s attempt %d to %s: %s", batch.id, batch.attempt, batch.url, status or error
        )
        return ok

    def _reschedule(self, batch: Batch) -> None:
        settings = self.settings
        delay = min(settings.retry_base_s * 2 ** (batch.attempt - 1), settings.retry_max_s)
        elapsed = time.monotonic() - (batch.first_attempt or time.monotonic())
        if elapsed + delay > settings.retry_for_s:
            with self._cond:
                self.log.append(
                    {"batchId": batch.id, "url": batch.url, "dropped": True, "attempt": batch.attempt}
                )
            return
        batch.due = time.monotonic() + delay
        with self._cond:
            self._due.append(batch)
            self._cond.notify_all()

    def _validation_token(self, app_id: str) -> str:
        token, _ = self.tenant.issuer.issue(
            change_tracking_principal(),
            app_id,
            version="1.0",
            lifetime_s=VALIDATION_TOKEN_LIFETIME_S,
        )
        return token

    def _tampered(self, body: dict[str, Any], how: str) -> dict[str, Any]:
        """The batch spoiled as `how` says (devstack only); the queued batch itself is left alone."""
        if how == "dataSignature":
            items = []
            for item in body["value"]:
                content = dict(item.get("encryptedContent") or {})
                if content:
                    data = base64.b64decode(content["data"])
                    other = hmac.new(os.urandom(32), data, hashlib.sha256).digest()
                    content["dataSignature"] = base64.b64encode(other).decode()
                items.append({**item, "encryptedContent": content} if content else item)
            return {**body, "value": items}
        tokens = []
        for token in body.get("validationTokens", []):
            if how == "wrongAudience":
                token, _ = self.tenant.issuer.issue(
                    change_tracking_principal(), str(uuid.uuid4()), version="1.0", lifetime_s=600
                )
            else:  # forgedToken: the same claims and kid, signed by a key nobody publishes
                claims = jwt.decode(token, options={"verify_signature": False})
                header = jwt.get_unverified_header(token)
                impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                token = jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": header["kid"]})
            tokens.append(token)
        return {**body, "validationTokens": tokens}
