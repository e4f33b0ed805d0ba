"""The durable step of every receiver: one queue message per accepted request, before the 2xx.

A request's verified events become ONE message on the webhook queue (`WEBHOOKS_QUEUE`), so
an acknowledgement costs one storage write. A message too big for a queue (64 KiB, base64)
goes to a blob first and the message carries its name. When storage fails the receiver
answers 503 and the sender retries: nothing is acknowledged that is not stored.
Secrets never reach the message: clientState and validationTokens are dropped by the
receivers, signature headers are not kept. With telemetry on the message carries the request's
`traceparent` (ids and flags, from the host's invocation, never from the sender's headers): the
processing span links to it (docs/telemetry.md, "Links across queues").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from shared import clock, telemetry
from shared.webhooks._refusal import Refused

PAYLOAD_CONTAINER = "webhook-payloads"
MAX_INLINE = 40_000  # bytes of JSON; a queue message holds 48 KiB before base64 (64 KiB after)


@dataclass(frozen=True)
class InboxEvent:
    """One event as stored: the sender's id, what it is about, and its payload (no secrets)."""

    id: str
    type: str
    subject: str | None
    payload: Any

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "subject": self.subject, "payload": self.payload}


def now_iso() -> str:
    return clock.now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    receiver: str, source: str, events: list[InboxEvent], *, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The message body for one accepted request."""
    link = telemetry.traceparent()  # None when telemetry is off: no field
    return {
        "v": 1,
        "receiver": receiver,
        "source": source,
        "receivedAt": now_iso(),
        "meta": dict(meta or {}),
        "events": [e.to_json() for e in events],
        **({"traceparent": link} if link else {}),
    }


def store_durably(message: Mapping[str, Any]) -> str:
    """Enqueue the message (via a blob when large); Refused(503) when storage is unavailable."""
    from shared.errors import StorageError
    from shared.webhooks._ledger import ack_account
    from shared.webhooks._settings import QUEUE

    body = json.dumps(message, separators=(",", ":"))
    try:
        store = ack_account()
        if len(body.encode()) > MAX_INLINE:
            name = f"{message['source']}/{uuid.uuid4().hex}.json"
            store.put_blob(PAYLOAD_CONTAINER, name, body.encode())
            return str(store.enqueue(QUEUE, {"v": 1, "blob": name, "source": message["source"]}))
        return str(store.enqueue(QUEUE, body))
    except StorageError as exc:
        raise Refused(
            503, "webhook-storage-unavailable", "The event could not be stored; retry later.", hint=exc.hint
        ) from exc


def open_message(body: bytes) -> dict[str, Any]:
    """The envelope a queue message stands for (reading the blob when it points at one)."""
    doc = json.loads(body)
    if isinstance(doc, dict) and "blob" in doc and "events" not in doc:
        from shared.storage import account

        data = account().get_blob(PAYLOAD_CONTAINER, str(doc["blob"]))
        if data is None:
            raise LookupError(f"payload blob {doc['blob']} is gone")
        doc = json.loads(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        raise ValueError("not a webhook envelope")
    return doc
