"""The queue-triggered side: each stored event runs its handlers once, whatever the redeliveries.

For every event of a message: claim its event-log row (conditional insert), build the
`WebhookEvent` (decrypting a rich Graph notification, acting on lifecycle events), call the
matching handlers, record the outcome under the claim's ETag. A handler that raises fails the
event and the message (the host retries it); on the message's last dequeue the event is
recorded `poisoned` with its error and the host moves the message to `<queue>-poison`.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared import telemetry
from shared.errors import AutomationError, StorageError
from shared.redaction import redact
from shared.webhooks._graph import LIFECYCLE_EVENTS as LIFECYCLE
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
            source, raw, claimant=message_id, received_at=str(envelope["receivedAt"]), stale_after=STALE_AFTER
        )
        if claim.run is None:
            outcome.add(claim.reason)
            continue
        with (
            telemetry.linked(envelope.get("traceparent")),  # the request that stored it (None: older)
            telemetry.run_span(claim.run, webhook_source=source, webhook_event_id=str(raw["id"])) as span,
        ):
            result = _run(receiver, source, raw, envelope, claim.run.attempt)
            if result.status != "succeeded":
                span.failed(result.error, result.status)
            span.set(run_status=result.status)
        poisoned = result.status == "failed" and last_try
        _finish(
            log,
            claim.run,
            ok=result.status == "succeeded",
            handlers=result.handlers,
            payload=raw.get("payload"),
            error=result.error,
            poisoned=poisoned,
            rejected=result.status == "rejected",
        )
        outcome.add("poisoned" if poisoned else result.status)
        if result.status == "failed":
            failures.append(f"{raw['id']}: {type(result.error).__name__}")
    if receiver == GRAPH:
        _note_subscriptions(envelope)
    if failures:
        raise EventsFailed(f"{len(failures)} webhook event(s) failed: " + "; ".join(failures)[:1000])
    return outcome


def _note_subscriptions(envelope: dict[str, Any]) -> None:
    from shared.webhooks._subscriptions import note_notifications

    ids = {str((e.get("payload") or {}).get("subscriptionId") or "") for e in envelope["events"]} - {""}
    try:
        note_notifications(ids, str(envelope["receivedAt"]))
    except StorageError:
        logger.warning("could not record the last notification time of %d subscription(s)", len(ids))


def _finish(log: EventLog, run: Any, **outcome: Any) -> None:
    delay = 0.25
    for attempt in range(FINISH_ATTEMPTS):
        try:
            if log.finish(run, **outcome) is None:
                logger.warning("webhook run %s: its claim was taken over; outcome not recorded", run.id)
            return
        except StorageError:
            if attempt == FINISH_ATTEMPTS - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


@dataclass(frozen=True)
class _Result:
    status: str  # succeeded | failed | rejected
    handlers: list[str]
    error: BaseException | None = None


def _run(receiver: str, source: str, raw: dict[str, Any], envelope: dict[str, Any], attempt: int) -> _Result:
    """Build the event and call its handlers."""
    try:
        event, kind, match = _decode(receiver, source, raw, envelope, attempt)
    except Refused as refused:
        return _Result("rejected", [], refused)
    regs = handlers_for(kind, source, match)
    names = [r.name for r in regs]
    if kind == GRAPH and event.type in LIFECYCLE:
        from shared.webhooks._subscriptions import on_lifecycle

        names.insert(0, "lifecycle")
        try:
            on_lifecycle(event)
        except Exception as exc:  # noqa: BLE001 - recorded as the event's error, retried by the queue
            logger.warning("lifecycle %s failed: %s", event.type, type(exc).__name__)
            return _Result("failed", names, exc)
    for reg in regs:
        try:
            reg.function(event)
        except Exception as exc:  # noqa: BLE001 - user code may raise anything: recorded, retried
            logger.warning(
                "webhook handler %s failed on a %s event: %s", reg.name, source, type(exc).__name__
            )
            return _Result("failed", names, HandlerFailed(reg.name, exc))
    return _Result("succeeded", names)


class HandlerFailed(AutomationError):
    """A webhook handler raised; the message names the handler and the exception's type and text."""

    default_step = "webhook-handler"

    def __init__(self, handler: str, exc: BaseException) -> None:
        super().__init__(
            redact(f"{handler} raised {type(exc).__name__}: {exc}")[:900], code=type(exc).__name__
        )


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
        if data is None and isinstance((payload or {}).get("data_base64"), str):
            data = base64.b64decode(payload["data_base64"])  # CloudEvents binary data: bytes
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
