"""The Run record: one shape for a job run, a webhook event's processing and an automation call."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.errors import AutomationError
from shared.redaction import redact

# Inverted milliseconds make RowKeys sort newest first (Table storage lists in key order).
_MAX_MS = 10**13 - 1
MAX_MESSAGE = 1000


class Kind(StrEnum):
    """What a run is the record of."""

    JOB = "job"
    WEBHOOK = "webhook"
    AUTOMATION = "automation"


class Status(StrEnum):
    """A run's state; the last five are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"
    ABANDONED = "abandoned"

    @property
    def final(self) -> bool:
        return self not in (Status.QUEUED, Status.RUNNING)


@dataclass(frozen=True)
class ErrorSummary:
    """Why a run failed, in the app's own words: never a token, secret or foreign error's text."""

    type: str
    message: str
    code: str | None = None
    step: str | None = None
    status: int | None = None
    outage: bool = False
    hint: str | None = None

    @classmethod
    def of(cls, exc: BaseException) -> ErrorSummary:
        """The summary of an exception: ours in full (redacted), any other by its type only."""
        if isinstance(exc, AutomationError):
            return cls(
                type=type(exc).__name__,
                message=redact(exc.message)[:MAX_MESSAGE],
                code=exc.code,
                step=exc.step,
                status=exc.status,
                outage=exc.outage,
                hint=redact(exc.hint)[:MAX_MESSAGE] if exc.hint else None,
            )
        # A foreign exception's text may quote anything (a URL with a SAS, a header): not kept.
        return cls(type=type(exc).__name__, message="Unexpected error; the stack is in the app's logs.")

    @classmethod
    def text(cls, type_: str, message: str, **facts: Any) -> ErrorSummary:
        """A summary the app writes itself (poisoned message, timeout, oversized output)."""
        return cls(type=type_, message=redact(message)[:MAX_MESSAGE], **facts)


@dataclass(frozen=True)
class GraphUsage:
    """Graph requests a run made and what throttling cost it."""

    requests: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0
    resource_units: int = 0

    @classmethod
    def of(cls, usage: Any) -> GraphUsage:
        """From the Graph client's `tracking()` counters (any object with those attributes)."""
        return cls(
            requests=int(getattr(usage, "requests", 0) or 0),
            throttled=int(getattr(usage, "throttled", 0) or 0),
            waited_seconds=float(getattr(usage, "waited_seconds", 0.0) or 0.0),
            resource_units=int(getattr(usage, "resource_units", 0) or 0),
        )

    def __add__(self, other: GraphUsage) -> GraphUsage:
        return GraphUsage(
            self.requests + other.requests,
            self.throttled + other.throttled,
            round(self.waited_seconds + other.waited_seconds, 3),
            self.resource_units + other.resource_units,
        )


def new_run_id(moment: datetime) -> str:
    """A unique id that sorts newest first: inverted epoch milliseconds, then randomness."""
    inverted = _MAX_MS - int(moment.timestamp() * 1000)
    return f"{inverted:013d}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Run:
    """One record in the ledger. `key` is what must be unique: a slot, an event id, an idempotency key."""

    id: str
    kind: Kind
    name: str
    trigger: str
    status: Status
    created: datetime
    key: str = ""
    started: datetime | None = None
    finished: datetime | None = None
    deadline: datetime | None = None
    attempt: int = 1
    counts: Mapping[str, int] = field(default_factory=dict)
    graph: GraphUsage = field(default_factory=GraphUsage)
    error: ErrorSummary | None = None
    caller: str | None = None
    parent_id: str | None = None
    output: str | None = None
    # Small facts of the run's own: past due, missed slots, duplicate of, retry of, children, ...
    detail: Mapping[str, Any] = field(default_factory=dict)
    etag: str = field(default="", compare=False, repr=False)

    def evolve(self, **changes: Any) -> Run:
        """A copy with `changes` (the ledger writes it)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The run as the HTTP API shows it (camelCase, ISO times, no storage metadata)."""
        body: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "trigger": self.trigger,
            "key": self.key or None,
            "status": self.status.value,
            "attempt": self.attempt,
            "created": _iso(self.created),
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "durationSeconds": (
                round((self.finished - self.started).total_seconds(), 3)
                if self.started and self.finished
                else None
            ),
            "counts": dict(self.counts),
            "graph": {
                "requests": self.graph.requests,
                "throttled": self.graph.throttled,
                "waitedSeconds": self.graph.waited_seconds,
                "resourceUnits": self.graph.resource_units,
            },
            "error": {k: v for k, v in asdict(self.error).items() if v is not None} if self.error else None,
            "caller": self.caller,
            "parentId": self.parent_id,
            "hasOutput": bool(self.output),
            "detail": dict(self.detail),
        }
        return body

    # -- storage -------------------------------------------------------------------------------

    def to_entity(self, partition: str) -> dict[str, Any]:
        """The Table entity (flat properties; structured ones as JSON strings)."""
        entity: dict[str, Any] = {
            "PartitionKey": partition,
            "RowKey": "r" + self.id,
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "trigger": self.trigger,
            "key": self.key,
            "status": self.status.value,
            "created": self.created,
            "attempt": self.attempt,
            "counts": json.dumps(dict(self.counts), sort_keys=True),
            "graphRequests": self.graph.requests,
            "graphThrottled": self.graph.throttled,
            "graphWaitedSeconds": float(self.graph.waited_seconds),
            "graphResourceUnits": self.graph.resource_units,
            "error": json.dumps(asdict(self.error)) if self.error else "",
            "caller": self.caller or "",
            "parentId": self.parent_id or "",
            "output": self.output or "",
            "detail": json.dumps(dict(self.detail), sort_keys=True, default=str),
        }
        for name in ("started", "finished", "deadline"):
            value = getattr(self, name)
            # Absent rather than null: a merge then leaves an older value alone, so write them once set.
            if value is not None:
                entity[name] = value
        return entity

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any], etag: str = "") -> Run:
        """The run stored as `entity`."""
        error = json.loads(entity["error"]) if entity.get("error") else None
        return cls(
            id=str(entity["id"]),
            kind=Kind(entity["kind"]),
            name=str(entity["name"]),
            trigger=str(entity["trigger"]),
            key=str(entity.get("key") or ""),
            status=Status(entity["status"]),
            created=_utc(entity["created"]),
            started=_utc(entity.get("started")),
            finished=_utc(entity.get("finished")),
            deadline=_utc(entity.get("deadline")),
            attempt=int(entity.get("attempt") or 1),
            counts=json.loads(entity.get("counts") or "{}"),
            graph=GraphUsage(
                int(entity.get("graphRequests") or 0),
                int(entity.get("graphThrottled") or 0),
                float(entity.get("graphWaitedSeconds") or 0.0),
                int(entity.get("graphResourceUnits") or 0),
            ),
            error=ErrorSummary(**error) if error else None,
            caller=entity.get("caller") or None,
            parent_id=entity.get("parentId") or None,
            output=entity.get("output") or None,
            detail=json.loads(entity.get("detail") or "{}"),
            etag=etag,
        )


def _utc(value: Any) -> Any:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    # Table storage hands back its own datetime subclass: normalise to a plain aware datetime.
    return datetime.fromtimestamp(moment.timestamp(), UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
