"""The event log: each event's processing is a Run of kind "webhook" (shared/runs), keyed by event id.

The Run's key row is the dedupe: the processor claims an event with `Ledger.begin` (one
conditional write), so a duplicated or redelivered event finds the run holding its id and has
no second effect; it is recorded as a `duplicate` run pointing at the first. A failed run is
claimed again by the message's retry (ETag-conditional). Outcomes:

    running    claimed by a queue message (`detail.claimant`), handlers running
    succeeded  handlers returned (or none matched)
    failed     a handler raised (`error`); the message retries and claims the run again.
               `detail.poisoned`: it failed on the message's last dequeue, the message is in
               `webhook-events-poison`. `detail.rejected`: it can never succeed (e.g. a
               tampered rich notification) and is not retried.
    duplicate  another delivery of an event already claimed (`detail.duplicateOf`)

The payload (without secrets: the receivers dropped clientState, tokens and signature
headers) is kept in the run (small) or as its output blob, until retention purges the run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import clock

if TYPE_CHECKING:
    from shared.runs import Ledger, Run
    from shared.storage import Account

TRIGGER = "queue"
MAX_INLINE_PAYLOAD = 4000  # characters of JSON kept in the run's detail; larger payloads go to a blob
# The ack path must answer within a sender's deadline (Graph: 3 s), not ride out an outage.
ACK_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 0, "connection_timeout": 2, "read_timeout": 2}

_ack_lock = threading.Lock()
_ack_accounts: dict[tuple[Any, ...], Account] = {}


def ack_account() -> Account:
    """The process account's twin for the ack path: same account and names, no retries, short timeouts."""
    from shared.storage import account, open_account

    base = account()
    target = base.target
    key = (
        target.setting,
        target.connection_string,
        tuple(sorted((target.service_uris or {}).items())),
        target.client_id,
        base.prefix,
    )
    found = _ack_accounts.get(key)
    if found is None:
        with _ack_lock:
            found = _ack_accounts.get(key)
            if found is None:
                found = _ack_accounts[key] = open_account(target, prefix=base.prefix, **ACK_CLIENT_OPTIONS)
    return found


@dataclass(frozen=True)
class EventClaim:
    """Run it (`run` is ours, RUNNING), or skip it: `reason` is "duplicate" or "in-progress"."""

    run: Run | None
    reason: str  # "new" | "retry" | "duplicate" | "in-progress"


class EventLog:
    """Webhook runs in the one ledger."""

    def __init__(self, store: Account | None = None) -> None:
        from shared.runs import Ledger

        self.ledger: Ledger = Ledger(store)

    def claim(
        self, source: str, event: dict[str, Any], *, claimant: str, received_at: str, stale_after: timedelta
    ) -> EventClaim:
        from shared.runs import Kind, Status

        event_id = str(event["id"])
        detail = {
            "eventId": event_id,
            "type": str(event.get("type") or "")[:300],
            "subject": str(event.get("subject") or "")[:500] or None,
            "receivedAt": received_at,
            "claimant": claimant,
        }
        run = self.ledger.new(
            Kind.WEBHOOK, source, trigger=TRIGGER, status=Status.RUNNING, key=event_id, detail=detail
        )
        claim = self.ledger.begin(run)
        if claim.created:
            return EventClaim(claim.run, "new")
        current = claim.run
        rejected = bool(current.detail.get("rejected"))
        if current.status == Status.RUNNING:
            started = current.started or current.created
            if current.detail.get("claimant") != claimant and clock.now() - started < stale_after:
                return EventClaim(None, "in-progress")  # another message holds it now
            # Our own message again (the host died mid-run), or an abandoned claim: take it.
        elif current.status != Status.FAILED or rejected:
            self._record_duplicate(source, event_id, current, detail)
            return EventClaim(None, "duplicate")
        again = current.evolve(
            status=Status.RUNNING,
            started=clock.now(),
            finished=None,
            attempt=current.attempt + 1,
            error=None,
            detail={**current.detail, "claimant": claimant, "poisoned": False},
        )
        saved = self.ledger.save(again)
        return EventClaim(saved, "retry") if saved is not None else EventClaim(None, "in-progress")

    def _record_duplicate(self, source: str, event_id: str, first: Run, detail: dict[str, Any]) -> None:
        from shared.runs import Kind, Status

        dup = self.ledger.new(
            Kind.WEBHOOK,
            source,
            trigger=TRIGGER,
            status=Status.DUPLICATE,
            detail={**detail, "duplicateOf": first.id},
        )
        self.ledger.record(dup.evolve(finished=dup.created))

    def finish(
        self,
        run: Run,
        *,
        ok: bool,
        handlers: list[str],
        payload: Any,
        error: BaseException | None = None,
        poisoned: bool = False,
        rejected: bool = False,
    ) -> Run | None:
        """Record the outcome if our claim still holds (ETag); None when another message took it over."""
        import json

        from shared.runs import Status

        output = run.output
        detail: dict[str, Any] = {"handlers": handlers}
        if output is None and payload is not None:
            if len(json.dumps(payload, default=str)) <= MAX_INLINE_PAYLOAD:
                detail["payload"] = payload  # small: in the run itself, no blob write
            else:
                output = self.ledger.write_output(run, payload)
        if poisoned:
            detail["poisoned"] = True
        if rejected:
            detail["rejected"] = True
        return self.ledger.finish(
            run.evolve(output=output),
            Status.SUCCEEDED if ok else Status.FAILED,
            error=error,
            detail=detail,
        )

    def seen(self, source: str, event_id: str) -> bool:
        """Whether this event was claimed already (a failed, not rejected one may come again)."""
        from shared.runs import Kind, Status

        run = self.ledger.by_key(Kind.WEBHOOK, source, event_id)
        return run is not None and (run.status != Status.FAILED or bool(run.detail.get("rejected")))

    def get(self, source: str, run_id: str) -> dict[str, Any] | None:
        import json

        from shared.runs import Kind, partition

        try:
            partition(Kind.WEBHOOK, source)
        except ValueError:
            return None
        run = self.ledger.get(Kind.WEBHOOK, source, run_id)
        if run is None:
            return None
        record = to_record(run)
        data = self.ledger.read_output(run)
        record["payload"] = json.loads(data) if data else run.detail.get("payload")
        return record

    def list(
        self,
        *,
        source: str | None,
        status: str | None,
        since: datetime | None,
        limit: int,
        continuation: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        from shared.runs import Kind, Status

        page = self.ledger.query(
            Kind.WEBHOOK,
            source,
            status=Status(status) if status else None,
            since=since,
            page_size=limit,
            continuation=continuation,
        )
        return [to_record(r) for r in page.runs], page.continuation

    def purge(self, older_than: timedelta) -> int:
        from shared.runs import Kind

        return self.ledger.purge(older_than=older_than, kind=Kind.WEBHOOK)


def to_record(run: Run) -> dict[str, Any]:
    """The operator's view: the Run, plus the event's own facts and where to read it."""
    body = run.to_dict()
    body["detail"] = {k: v for k, v in body["detail"].items() if k != "payload"}
    body["source"] = run.name
    body["eventId"] = run.detail.get("eventId") or run.key or None
    body["href"] = f"webhooks/events/{run.name}/{run.id}"
    return body
