"""The queue-triggered side: each stored event runs its handlers once, whatever the redeliveries.

For every event of a message: claim its event-log row (conditional insert), build the
`WebhookEvent` (decrypting a rich Graph notification, acting on lifecycle events), call the
matching handlers, record the outcome under the claim's ETag. A handler that raises fails the
event and the message (the host retries it); on the message's last dequeue the event is
recorded `poisoned` with its error and the host moves the message to `<queue>-poison`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import AutomationError, StorageError
from shared.redaction import redact
from shared.webhooks._inbox import open_message
from shared.webhooks._ledger import EventLog
from shared.webhooks._refusal import Refused
from shared.webhooks._registry import EVENTGRID, GRAPH, SIGNED, WebhookEvent, handlers_for
from shared.webhooks._settings import webhook_settings

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)  # a claim older than this (past functionTimeout) is abandoned
FINISH_ATTEMPTS = 6  # recording an outcome rides out a storage outage of ~15 s


class EventsFailed(AutomationError):
    """Some events of a queue message failed; the host retries the message (done ones are skipped)."""

    default_step = "webhook"


@dataclass
class Outcome:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1


def _now() -> datetime:
    return datetime.now(UTC)


def process(body: bytes, *, message_id: str, dequeue_count: int) -> Outcome:
    """Process one queue message; raises EventsFailed when any event must be retried."""
    envelope = open_message(body)
    log = EventLog()
    receiver, source = str(envelope["receiver"]), str(envelope["source"])
    last_try = dequeue_count >= webhook_settings().max_dequeue_count
    outcome = Outcome()
    failures: list[str] = []
    for raw in envelope["events"]:
        claim = log.claim(
            source,
            raw,
            claimant=message_id,
            received_at=str(envelope["receivedAt"]),
            now=_now(),
            stale_after=STALE_AFTER,
        )
        if not claim.run:
            outcome.add(claim.reason)
            continue
        assert claim.etag is not None
        status, names, error = _run(receiver, source, raw, envelope, claim.attempt)
        if status == "failed" and last_try:
            status = "poisoned"
        _finish(log, source, str(raw["id"]), claim.etag, status=status, handlers=names, error=error)
        outcome.add(status)
        if status in ("failed", "poisoned"):
            failures.append(f"{raw['id']}: {error}")
    if failures:
        raise EventsFailed(f"{len(failures)} webhook event(s) failed: " + "; ".join(failures)[:1000])
    return outcome


def _finish(log: EventLog, source: str, event_id: str, etag: str, **outcome: Any) -> None:
    delay = 0.25
    for attempt in range(FINISH_ATTEMPTS):
        try:
            if not log.finish(source, event_id, etag, now=_now(), **outcome):
                logger.warning("webhook event of %s: its claim was taken over; outcome not recorded", source)
            return
        except StorageError:
            if attempt == FINISH_ATTEMPTS - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _run(
    receiver: str, source: str, raw: dict[str, Any], envelope: dict[str, Any], attempt: int
) -> tuple[str, list[str], str | None]:
    """Build the event and call its handlers: (status, handler names, error summary)."""
    try:
        event, kind, match = _decode(receiver, source, raw, envelope, attempt)
    except Refused as refused:
        return "rejected", [], f"{refused.slug}: {refused.message}"
    regs = handlers_for(kind, source, match)
    names = [r.name for r in regs]
    if kind == GRAPH and event.type in ("reauthorizationRequired", "subscriptionRemoved", "missed"):
        from shared.webhooks._subscriptions import on_lifecycle

        names.insert(0, "lifecycle")
        try:
            on_lifecycle(event)
        except Exception as exc:  # noqa: BLE001 - recorded as the event's error, retried by the queue
            return "failed", names, _summary(exc)
    for reg in regs:
        try:
            reg.function(event)
        except Exception as exc:  # noqa: BLE001 - user code may raise anything: recorded, retried
            logger.warning(
                "webhook handler %s failed on a %s event: %s", reg.name, source, type(exc).__name__
            )
            return "failed", names, f"{reg.name}: {_summary(exc)}"
    return "succeeded", names, None


def _summary(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")[:1000]


def _decode(
    receiver: str, source: str, raw: dict[str, Any], envelope: dict[str, Any], attempt: int
) -> tuple[WebhookEvent, str, str]:
    payload: Any = raw.get("payload")
    data: Any = payload
    kind = SIGNED
    match = str(raw.get("type") or "")
    if receiver == GRAPH:
        kind = GRAPH
        match = str(raw.get("subject") or "")
        data = (payload or {}).get("resourceData")
        if isinstance(payload, dict) and "encryptedContent" in payload:
            data = _decrypt(payload["encryptedContent"])
    elif receiver == EVENTGRID:
        kind = EVENTGRID
        data = (payload or {}).get("data")
    else:
        body = str((payload or {}).get("body") or "")
        try:
            data = json.loads(body)
        except ValueError:
            data = body
    event = WebhookEvent(
        source=source,
        id=str(raw["id"]),
        type=str(raw.get("type") or ""),
        subject=raw.get("subject"),
        data=data,
        raw=payload if isinstance(payload, dict) else {"payload": payload},
        received_at=str(envelope["receivedAt"]),
        attempt=attempt,
    )
    return event, kind, match


def _decrypt(encrypted: Any) -> dict[str, Any]:
    from shared.webhooks._keys import encryption_keys
    from shared.webhooks._rich import decrypt_content, parse_encrypted_content

    content = parse_encrypted_content(encrypted)
    return decrypt_content(content, encryption_keys().unwrapper(content.certificate_id))


def queue_processor(msg: Any) -> None:
    """The queue trigger's body (function_app): process and let a failure reach the host."""
    outcome = process(msg.get_body(), message_id=str(msg.id), dequeue_count=int(msg.dequeue_count or 1))
    logger.info("webhook message processed: %s", outcome.counts)


ProcessFn = Callable[[bytes], Outcome]
