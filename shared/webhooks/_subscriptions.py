"""Graph subscriptions the app keeps alive: declared, created, renewed, repaired after lifecycle events.

Declared in code (`graph_subscription(...)`) or in `WEBHOOKS_GRAPH_SUBSCRIPTIONS` (JSON list of
`{"resource", "changeType", "rich"}`), created by the timer `webhooks_subscriptions` (every 5
minutes, so at most 5 minutes after a start) through the connection `WEBHOOKS_GRAPH_CONNECTION`,
and renewed once half of their lifetime is gone, each resource within Graph's maximum lifetime
(learn.microsoft.com/graph/api/resources/subscription, "Subscription lifetime"). State lives in
the Table `webhooksubscriptions`: id, resource, expiry, last notification, last error.

Lifecycle events (learn.microsoft.com/graph/change-notifications-lifecycle-events):
`reauthorizationRequired` -> `POST /subscriptions/{id}/reauthorize`, then renew;
`subscriptionRemoved` -> create it again, then catch up with delta; `missed` -> resync with
delta. Changes found by delta are stored as Graph events like notifications, so handlers see
them once each.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets as _random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import clock
from shared.errors import ConfigurationError

logger = logging.getLogger(__name__)

TABLE = "webhooksubscriptions"
PARTITION = "graph"
# Maximum lifetimes in minutes by the resource's first segment(s).
MAX_LIFETIME_MIN: dict[str, int] = {
    "users": 41760,
    "groups": 41760,
    "directoryobjects": 41760,
    "devices": 41760,
    "serviceprincipals": 41760,
    "applications": 41760,
    "me/messages": 4230,
    "messages": 4230,
    "events": 4230,
    "contacts": 4230,
    "teams": 4320,
    "chats": 4320,
    "communications/onlinemeetings": 4320,
    "drives": 42300,
    "sites": 42300,
    "security/alerts": 43200,
    "communications/presences": 60,
}
OUTLOOK_ITEMS = frozenset({"messages", "events", "contacts", "mailfolders"})
DEFAULT_LIFETIME_MIN = 4230  # the shortest of the common resources when a resource is not listed
MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Declaration:
    resource: str
    change_type: str  # comma-separated: "created,updated,deleted"
    rich: bool = False

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.resource}|{self.change_type}|{self.rich}".encode()).hexdigest()[:32]


_declared: list[Declaration] = []
_lock = threading.Lock()


def graph_subscription(
    resource: str, change_type: str = "created,updated,deleted", *, rich: bool = False
) -> None:
    """Declare a subscription the app keeps alive (call at import time of a handler module)."""
    declaration = Declaration(resource.strip("/"), change_type, rich)
    with _lock:
        if declaration not in _declared:
            _declared.append(declaration)


def declarations() -> list[Declaration]:
    from shared.webhooks._registry import load_handlers
    from shared.webhooks._settings import GRAPH_SUBSCRIPTIONS, webhook_settings

    load_handlers()
    found = list(_declared)
    raw = webhook_settings().graph_subscriptions
    if raw:
        try:
            items = json.loads(raw)
            if not isinstance(items, list):
                raise ValueError
            for item in items:
                d = Declaration(
                    str(item["resource"]).strip("/"),
                    str(item.get("changeType") or "created,updated,deleted"),
                    bool(item.get("rich")),
                )
                if d not in found:
                    found.append(d)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"{GRAPH_SUBSCRIPTIONS} must be a JSON list like "
                '[{"resource": "users", "changeType": "updated"}].'
            ) from exc
    return found


def max_lifetime(resource: str) -> timedelta:
    """Graph's maximum lifetime for a resource: Outlook items anywhere in the path (a user's
    messages, events, contacts), else the longest matching prefix of the table."""
    segments = resource.strip("/").split("?")[0].lower().split("/")
    if any(s in OUTLOOK_ITEMS for s in segments):
        return timedelta(minutes=4230)
    best, minutes = -1, DEFAULT_LIFETIME_MIN
    for prefix, value in MAX_LIFETIME_MIN.items():
        pref = prefix.split("/")
        if segments[: len(pref)] == pref and len(pref) > best:
            best, minutes = len(pref), value
    return timedelta(minutes=minutes)


def needs_renewal(expires: datetime, resource: str, now: datetime) -> bool:
    """Renew once half the lifetime is gone (so a missed timer run or two never lets it lapse)."""
    return expires - now < max_lifetime(resource) / 2


def new_expiry(resource: str, now: datetime) -> datetime:
    return now + max_lifetime(resource) - MARGIN


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


# -- I/O -------------------------------------------------------------------------------------


def _graph() -> Any:
    from shared.webhooks._settings import GRAPH_CONNECTION, webhook_settings

    name = webhook_settings().graph_connection
    if not name:
        raise ConfigurationError(f"Graph subscriptions need {GRAPH_CONNECTION} (a connection name).")
    from shared.identity import connection

    return connection(name).graph


def _notification_url() -> str:
    from shared.webhooks._settings import GRAPH_NOTIFICATION_URL, webhook_settings

    url = webhook_settings().graph_notification_url
    if not url:
        raise ConfigurationError(
            f"Graph subscriptions need {GRAPH_NOTIFICATION_URL}: the public URL of /api/webhooks/graph "
            "(with ?code=<function key>; Graph keeps the query string)."
        )
    return url


def _client_state() -> str:
    from shared.webhooks._secrets import secrets
    from shared.webhooks._settings import webhook_settings

    return secrets().values(webhook_settings().graph_client_state_secret)[0]


def _body(d: Declaration, now: datetime) -> dict[str, Any]:
    url = _notification_url()
    body: dict[str, Any] = {
        "changeType": d.change_type,
        "notificationUrl": url,
        "lifecycleNotificationUrl": url,
        "resource": d.resource,
        "expirationDateTime": _iso(new_expiry(d.resource, now)),
        "clientState": _client_state(),
    }
    if d.rich:
        body.update(_encryption())
    return body


def _encryption() -> dict[str, Any]:
    import base64

    from shared.config import get_settings
    from shared.identity._vault import vault_for
    from shared.webhooks._settings import GRAPH_ENCRYPTION_CERTIFICATE, webhook_settings

    name = webhook_settings().graph_encryption_certificate
    settings = get_settings()
    if not name or not settings.key_vault_url:
        raise ConfigurationError(
            f"A rich subscription needs {GRAPH_ENCRYPTION_CERTIFICATE} and KEY_VAULT_URL."
        )
    info = vault_for(settings.key_vault_url, settings.managed_identity).issued_certificate(name)
    return {
        "includeResourceData": True,
        "encryptionCertificate": base64.b64encode(info.cer).decode("ascii"),
        "encryptionCertificateId": f"{name}/{info.version}",
    }


def _store() -> Any:
    from shared.storage import account

    return account()


def _row(d: Declaration) -> dict[str, Any]:
    return {
        "PartitionKey": PARTITION,
        "RowKey": d.key,
        "resource": d.resource,
        "changeType": d.change_type,
        "rich": d.rich,
    }


def sync_subscriptions(now: datetime | None = None) -> dict[str, int]:
    """Create missing and renew expiring subscriptions; purge old events. Counts of what was done."""
    now = now or clock.now()
    counts = {"created": 0, "renewed": 0, "kept": 0, "failed": 0, "purged": 0}
    store = _store()
    holder = f"{os.environ.get('WEBSITE_INSTANCE_ID', 'local')}-{_random.token_hex(4)}"
    lease = store.lease(TABLE, "sync", holder, now=now, until=now + timedelta(minutes=4))
    if not lease.acquired:
        return counts
    try:
        decls = declarations()
        if decls:
            graph = _graph()
            for d in decls:
                counts[_keep_alive(store, graph, d, now)] += 1
        counts["purged"] = _purge(now)
    finally:
        store.release(TABLE, lease)
    logger.info("webhook subscriptions: %s", counts)
    return counts


def _keep_alive(store: Any, graph: Any, d: Declaration, now: datetime) -> str:
    current = store.get(TABLE, PARTITION, d.key)
    try:
        if current is None or not current.get("subscriptionId"):
            _create(store, graph, d, now)
            return "created"
        expires = _parse(current.get("expiration"))
        if expires is None or expires <= now:
            _create(store, graph, d, now)
            return "created"
        if needs_renewal(expires, d.resource, now):
            _renew(store, graph, d, str(current["subscriptionId"]), now)
            return "renewed"
        return "kept"
    except Exception as exc:  # noqa: BLE001 - one failing subscription must not stop the others; recorded
        from shared.redaction import redact

        logger.warning("subscription for %s failed: %s", d.resource, type(exc).__name__)
        store.upsert(
            TABLE,
            {**_row(d), "lastError": redact(f"{type(exc).__name__}: {exc}")[:2000], "lastErrorAt": _iso(now)},
        )
        return "failed"


def _create(store: Any, graph: Any, d: Declaration, now: datetime) -> dict[str, Any]:
    created = graph.post("/subscriptions", json=_body(d, now)) or {}
    store.upsert(
        TABLE,
        {
            **_row(d),
            "subscriptionId": str(created.get("id") or ""),
            "expiration": str(created.get("expirationDateTime") or _iso(new_expiry(d.resource, now))),
            "createdAt": _iso(now),
            "lastError": "",
        },
    )
    return dict(created)


def _renew(store: Any, graph: Any, d: Declaration, subscription_id: str, now: datetime) -> None:
    from shared.graph import GraphError

    try:
        renewed = graph.patch(
            f"/subscriptions/{subscription_id}",
            json={"expirationDateTime": _iso(new_expiry(d.resource, now))},
        )
    except GraphError as exc:
        if exc.status == 404:  # gone (removed or expired on Graph's side): create it again
            _create(store, graph, d, now)
            return
        raise
    store.upsert(
        TABLE,
        {
            **_row(d),
            "expiration": str((renewed or {}).get("expirationDateTime") or _iso(new_expiry(d.resource, now))),
            "renewedAt": _iso(now),
            "lastError": "",
        },
    )


def _purge(now: datetime) -> int:
    from shared.webhooks._ledger import EventLog
    from shared.webhooks._settings import webhook_settings

    return EventLog().purge(timedelta(days=webhook_settings().retention_days))


_noted: dict[str, float] = {}
NOTE_INTERVAL_S = 60.0


def note_notifications(subscription_ids: set[str], received_at: str) -> None:
    """Remember when each subscription last notified: one row per subscription, written at most
    once a minute per instance (a burst must not cost a write per notification)."""
    import time

    store = _store()
    now = time.monotonic()
    for sid in subscription_ids:
        if now - _noted.get(sid, -NOTE_INTERVAL_S) < NOTE_INTERVAL_S:
            continue
        _noted[sid] = now
        store.upsert(TABLE, {"PartitionKey": "seen", "RowKey": sid, "lastNotification": received_at})


def subscription_states() -> list[dict[str, Any]]:
    """What `/api/webhooks` shows: each declared subscription and its state (no clientState)."""
    try:
        decls = declarations()
    except ConfigurationError as exc:
        return [{"error": str(exc)}]
    if not decls:
        return []
    store = _store()
    states = []
    for d in decls:
        row = store.get(TABLE, PARTITION, d.key)
        entity = dict(row.entity) if row else {}
        states.append(
            {
                "resource": d.resource,
                "changeType": d.change_type,
                "rich": d.rich,
                "id": entity.get("subscriptionId") or None,
                "expiration": entity.get("expiration") or None,
                "lastNotification": _last_seen(store, entity.get("subscriptionId")),
                "lastError": entity.get("lastError") or None,
            }
        )
    return states


def _last_seen(store: Any, subscription_id: Any) -> str | None:
    if not subscription_id:
        return None
    row = store.get(TABLE, "seen", str(subscription_id))
    return str(row.get("lastNotification")) if row else None


def _find(subscription_id: str) -> tuple[Declaration, Any] | None:
    store = _store()
    for d in declarations():
        row = store.get(TABLE, PARTITION, d.key)
        if row is not None and row.get("subscriptionId") == subscription_id:
            return d, row
    return None


def on_lifecycle(event: Any) -> None:
    """Act on a lifecycle notification (called by the processor, once per event)."""
    subscription_id = str((event.raw or {}).get("subscriptionId") or "")
    found = _find(subscription_id)
    if found is None:
        logger.warning("lifecycle %s for a subscription this app does not declare", event.type)
        return
    d, _ = found
    store, graph, now = _store(), _graph(), clock.now()
    if event.type == "reauthorizationRequired":
        from shared.graph import GraphError

        try:
            graph.post(f"/subscriptions/{subscription_id}/reauthorize")  # no body; 204
            _renew(store, graph, d, subscription_id, now)
        except GraphError as exc:
            if exc.status != 404:
                raise
            _create(store, graph, d, now)
            resync(d)
    elif event.type == "subscriptionRemoved":
        _create(store, graph, d, now)
        resync(d)
    elif event.type == "missed":
        resync(d)


def resync(d: Declaration) -> int:
    """Catch up with delta from the stored delta link (or from the start); store changes as Graph events."""
    from shared.webhooks._inbox import InboxEvent, envelope, store_durably
    from shared.webhooks._registry import GRAPH

    store, graph = _store(), _graph()
    row = store.get(TABLE, PARTITION, d.key)
    link = str(row.get("deltaLink") or "") if row else ""
    base = d.resource.split("?")[0].strip("/")
    delta = graph.delta(f"/{base}/delta", delta_link=link or None)
    batch: list[InboxEvent] = []
    total = 0
    for change in delta:
        removed = "@removed" in change
        # The round (the link it started from) is part of the id: a retried resync dedupes, while
        # an object that comes back unchanged in a later round (A -> B -> A) is a new event.
        marker = hashlib.sha256(json.dumps([link, change], sort_keys=True, default=str).encode()).hexdigest()[
            :32
        ]
        batch.append(
            InboxEvent(
                id=f"delta-{marker}",
                type="deleted" if removed else "updated",
                subject=f"{base}/{change.get('id')}",
                payload={"resource": f"{base}/{change.get('id')}", "resourceData": change, "delta": True},
            )
        )
        if len(batch) >= 50:
            store_durably(envelope(GRAPH, GRAPH, batch))
            total += len(batch)
            batch = []
    if batch:
        store_durably(envelope(GRAPH, GRAPH, batch))
        total += len(batch)
    store.upsert(TABLE, {**_row(d), "deltaLink": delta.delta_link or "", "resyncedAt": _iso(clock.now())})
    return total
