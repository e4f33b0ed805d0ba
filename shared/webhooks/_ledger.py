"""The event log: one row per (source, event id), written with conditional operations only.

The row is the dedupe: the processor claims an event by inserting its row (If-None-Match: *),
so a duplicated or redelivered event finds the row and has no second effect. Statuses:

    running    claimed by a queue message (`claimant`), handlers running
    succeeded  handlers returned (or none matched)
    failed     a handler raised; the message retries and re-claims the row (ETag)
    poisoned   failed on the message's last dequeue; the message is in `<queue>-poison`
    rejected   the event can never succeed (e.g. a tampered rich notification); not retried

Payloads are kept (inline, or in a blob when large) until the retention setting removes the
row; they never hold a secret or a token (the receivers drop those before storing).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TABLE = "webhookevents"
PAYLOAD_CONTAINER = "webhook-payloads"
MAX_INLINE_PAYLOAD = 30_000  # characters: a Table string property holds 32 Ki characters
TERMINAL = frozenset({"succeeded", "rejected", "poisoned"})
STATUSES = ("running", "succeeded", "failed", "poisoned", "rejected")


def row_key(event_id: str) -> str:
    """A Table-safe key for any sender id ('/', '#', '?', '\\' and control characters are not allowed)."""
    return hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:40]


def public_id(source: str, event_id: str) -> str:
    return f"{source}.{row_key(event_id)}"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Claim:
    """The outcome of claiming an event: run it (with `etag`), or skip it and say why."""

    run: bool
    attempt: int
    etag: str | None
    reason: str  # "new" | "retry" | "duplicate" | "in-progress"


class EventLog:
    """Rows of the event log in the app's storage account."""

    def __init__(self) -> None:
        from shared.storage import account

        self.store = account()

    def claim(
        self,
        source: str,
        event: dict[str, Any],
        *,
        claimant: str,
        received_at: str,
        now: datetime,
        stale_after: timedelta,
    ) -> Claim:
        event_id = str(event["id"])
        base = {"PartitionKey": source, "RowKey": row_key(event_id)}
        fields = {
            "eventId": event_id[:1000],
            "type": str(event.get("type") or "")[:500],
            "subject": str(event.get("subject") or "")[:1000],
            "receivedAt": received_at,
            "status": "running",
            "claimant": claimant,
            "startedAt": _iso(now),
            "attempt": 1,
            "duplicates": 0,
        }
        payload = json.dumps(event.get("payload"), separators=(",", ":"), default=str)
        if len(payload) <= MAX_INLINE_PAYLOAD:
            fields["payload"] = payload
        else:
            name = f"{source}/{base['RowKey']}.json"
            self.store.put_blob(PAYLOAD_CONTAINER, name, payload.encode())
            fields["payloadBlob"] = name
        inserted = self.store.insert_if_absent(TABLE, {**base, **fields})
        if inserted is not None:
            return Claim(True, 1, inserted.etag, "new")
        current = self.store.get(TABLE, source, base["RowKey"])
        if current is None:  # retention removed it between the two calls: claim again
            inserted = self.store.insert_if_absent(TABLE, {**base, **fields})
            return Claim(inserted is not None, 1, inserted.etag if inserted else None, "new")
        status = str(current.get("status"))
        attempt = int(current.get("attempt") or 1)
        if status in TERMINAL:
            self.store.update_if_match(
                TABLE, {**base, "duplicates": int(current.get("duplicates") or 0) + 1}, current.etag
            )
            return Claim(False, attempt, None, "duplicate")
        if status == "running" and current.get("claimant") != claimant:
            started = _parse(str(current.get("startedAt") or ""))
            if started is not None and now - started < stale_after:
                # Another message holds it right now: that message finishes or retries it.
                return Claim(False, attempt, None, "in-progress")
        changes = {
            **base,
            "status": "running",
            "claimant": claimant,
            "startedAt": _iso(now),
            "attempt": attempt + 1,
        }
        updated = self.store.update_if_match(TABLE, changes, current.etag)
        if updated is None:
            return Claim(False, attempt, None, "in-progress")
        return Claim(True, attempt + 1, updated.etag, "retry")

    def seen(self, source: str, event_id: str) -> bool:
        """Whether this event was claimed already (running or done; a failed one may come again)."""
        row = self.store.get(TABLE, source, row_key(event_id))
        return row is not None and row.get("status") != "failed"

    def finish(
        self,
        source: str,
        event_id: str,
        etag: str,
        *,
        status: str,
        now: datetime,
        handlers: list[str],
        error: str | None = None,
    ) -> bool:
        """Record the outcome if the claim still holds (its ETag); False when another took it over."""
        changes: dict[str, Any] = {
            "PartitionKey": source,
            "RowKey": row_key(event_id),
            "status": status,
            "finishedAt": _iso(now),
            "handlers": ",".join(handlers)[:2000],
            "error": (error or "")[:4000],
        }
        return self.store.update_if_match(TABLE, changes, etag) is not None

    def get(self, public: str) -> dict[str, Any] | None:
        source, _, key = public.rpartition(".")
        if not source or not key:
            return None
        row = self.store.get(TABLE, source, key)
        if row is None:
            return None
        record = to_record(row.entity)
        blob = row.get("payloadBlob")
        if blob:
            data = self.store.get_blob(PAYLOAD_CONTAINER, str(blob))
            record["payload"] = json.loads(data) if data else None
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
        clauses, params = [], {}
        if source:
            clauses.append("PartitionKey eq @source")
            params["source"] = source
        if status:
            clauses.append("status eq @status")
            params["status"] = status
        if since:
            clauses.append("receivedAt ge @since")
            params["since"] = _iso(since)
        page = self.store.query(
            TABLE,
            " and ".join(clauses) or "PartitionKey ne ''",
            parameters=params,
            select=None,
            page_size=limit,
            continuation=continuation,
        )
        return [to_record(r.entity, with_payload=False) for r in page.rows], page.continuation

    def purge(self, older_than: datetime, *, limit: int = 5000) -> int:
        """Delete rows (and their payload blobs) received before `older_than`; how many went."""
        rows = self.store.query_all(
            TABLE, "receivedAt lt @cutoff", parameters={"cutoff": _iso(older_than)}, limit=limit
        )
        for row in rows:
            blob = row.get("payloadBlob")
            if blob:
                self.store.delete_blob(PAYLOAD_CONTAINER, str(blob))
            self.store.delete(TABLE, str(row["PartitionKey"]), str(row["RowKey"]), etag=row.etag)
        return len(rows)


def to_record(entity: Any, *, with_payload: bool = True) -> dict[str, Any]:
    """The operator's view of a row (camelCase, no storage internals)."""
    record = {
        "id": f"{entity['PartitionKey']}.{entity['RowKey']}",
        "source": entity["PartitionKey"],
        "eventId": entity.get("eventId"),
        "type": entity.get("type") or None,
        "subject": entity.get("subject") or None,
        "status": entity.get("status"),
        "attempt": entity.get("attempt"),
        "duplicates": entity.get("duplicates") or 0,
        "receivedAt": entity.get("receivedAt"),
        "startedAt": entity.get("startedAt"),
        "finishedAt": entity.get("finishedAt"),
        "handlers": [h for h in str(entity.get("handlers") or "").split(",") if h],
        "error": entity.get("error") or None,
    }
    if with_payload and entity.get("payload") is not None:
        record["payload"] = json.loads(str(entity["payload"]))
    return record


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
