"""The ledger: every Run in one table, outputs in one blob container.

Layout (table `runs`):
    PartitionKey "{kind}.{name}"               top-level runs of one job, webhook source or automation
    PartitionKey "{kind}.{name}~{parent id}"   the children of one fanned-out run
    RowKey "r{run id}"                         a run (ids sort newest first)
    RowKey "k{key}"                            the key row: what makes (name, key) unique

`begin` writes a run and its key row in one transaction, so "first trigger for this slot /
event / idempotency key" is a single conditional write however many hosts race for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shared import clock
from shared.errors import ConfigurationError
from shared.runs._model import ErrorSummary, GraphUsage, Kind, Run, Status, new_run_id
from shared.storage import account

if TYPE_CHECKING:
    from shared.storage import Account

TABLE = "runs"
CONTAINER = "run-outputs"
DEFAULT_OUTPUT_LIMIT = 16 * 1024 * 1024
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_ID = re.compile(r"^[0-9]{13}-[0-9a-f]{8}$")


def partition(kind: Kind, name: str, parent_id: str | None = None) -> str:
    """The PartitionKey of `name`'s runs (or of one parent's children)."""
    if not _NAME.match(name):
        raise ValueError(f"run name {name!r}: lower-case letters, digits, '.', '-', '_' (at most 100)")
    return f"{kind.value}.{name}" + (f"~{parent_id}" if parent_id else "")


def key_row(key: str) -> str:
    """The RowKey for a uniqueness key (characters Table storage forbids are escaped)."""
    # '/', '\\', '#', '?' and control characters are not allowed in keys; quote() removes them all.
    escaped = quote(key, safe="-_.:@+=,;!$'()*")
    if len(escaped) > 900:
        raise ValueError("a run key is at most 900 characters once escaped")
    return "k" + escaped


def valid_run_id(value: str) -> bool:
    """Whether `value` looks like a run id (before asking storage for it)."""
    return bool(_ID.match(value))


class OutputTooLarge(ConfigurationError):
    """A run's output is larger than RUNS_OUTPUT_MAX_BYTES allows."""


@dataclass(frozen=True)
class Claim:
    """The outcome of `begin`: our new run, or the run that already holds the key."""

    run: Run
    created: bool


@dataclass(frozen=True)
class RunPage:
    """One page of runs, newest first, and the continuation for the next."""

    runs: list[Run]
    continuation: str | None


class Ledger:
    """Reads and writes Runs in one table; every update is conditional on the run's ETag."""

    def __init__(
        self,
        store: Account | None = None,
        *,
        table: str = TABLE,
        container: str = CONTAINER,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> None:
        self._store = store
        self.table = table
        self.container = container
        self.output_limit = output_limit
        self.writes = 0  # table writes made through this ledger (benchmarks count them)

    @property
    def store(self) -> Account:
        return self._store or account()

    # -- writing -------------------------------------------------------------------------------

    def new(
        self,
        kind: Kind,
        name: str,
        *,
        trigger: str,
        status: Status,
        key: str = "",
        parent_id: str | None = None,
        **fields: Any,
    ) -> Run:
        """A Run not yet stored (its id from the clock)."""
        now = clock.now()
        return Run(
            id=new_run_id(now),
            kind=kind,
            name=name,
            trigger=trigger,
            status=status,
            created=now,
            key=key,
            parent_id=parent_id,
            started=now if status == Status.RUNNING else fields.pop("started", None),
            **fields,
        )

    def begin(self, run: Run) -> Claim:
        """Store `run` if no run holds its key yet; else the run that does (nothing written)."""
        pk = partition(run.kind, run.name, run.parent_id)
        if not run.key:
            return Claim(self.record(run), True)
        key_entity = {"PartitionKey": pk, "RowKey": key_row(run.key), "runId": run.id, "created": run.created}
        self.writes += 1
        if self.store.insert_all_if_absent(self.table, [key_entity, run.to_entity(pk)]):
            stored = self.store.get(self.table, pk, "r" + run.id)
            return Claim(run.evolve(etag=stored.etag if stored else ""), True)
        existing = self.by_key(run.kind, run.name, run.key, parent_id=run.parent_id)
        if existing is None:  # purged between the two calls: a retry then wins or finds it
            return self.begin(run)
        return Claim(existing, False)

    def record(self, run: Run) -> Run:
        """Store `run` unconditionally (a duplicate or skipped record: it has an id of its own)."""
        pk = partition(run.kind, run.name, run.parent_id)
        self.writes += 1
        row = self.store.insert_if_absent(self.table, run.to_entity(pk))
        if row is None:
            raise RuntimeError(f"run id {run.id} already stored")  # ids are random: a bug if seen
        return run.evolve(etag=row.etag)

    def save(self, run: Run) -> Run | None:
        """Write `run` over its stored version if nobody changed it since it was read; else None."""
        pk = partition(run.kind, run.name, run.parent_id)
        self.writes += 1
        row = self.store.update_if_match(self.table, run.to_entity(pk), run.etag)
        return run.evolve(etag=row.etag) if row else None

    def finish(
        self,
        run: Run,
        status: Status,
        *,
        counts: Mapping[str, int] | None = None,
        graph: GraphUsage | None = None,
        error: BaseException | ErrorSummary | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Run | None:
        """Record the end of `run` (conditional: None if someone else changed it meanwhile)."""
        summary = ErrorSummary.of(error) if isinstance(error, BaseException) else error
        done = run.evolve(
            status=status,
            finished=clock.now(),
            counts=dict(counts) if counts is not None else run.counts,
            graph=graph or run.graph,
            error=summary,
            detail={**run.detail, **(detail or {})},
        )
        return self.save(done)

    # -- outputs -------------------------------------------------------------------------------

    def output_name(self, run: Run) -> str:
        return f"{run.kind.value}/{run.name}/{run.id}.json"

    def write_output(self, run: Run, payload: Any) -> str:
        """Store `payload` (JSON-serialisable or bytes) as the run's output; the blob name.

        OutputTooLarge when it exceeds the limit (RUNS_OUTPUT_MAX_BYTES): nothing is written.
        """
        data = payload if isinstance(payload, bytes) else json.dumps(payload, default=str).encode()
        if len(data) > self.output_limit:
            raise OutputTooLarge(
                f"The output of {run.kind.value} {run.name} is {len(data):,} bytes; "
                f"RUNS_OUTPUT_MAX_BYTES allows {self.output_limit:,}.",
                hint="Write less (a summary, or partitions), or raise RUNS_OUTPUT_MAX_BYTES.",
            )
        name = self.output_name(run)
        self.store.put_blob(self.container, name, data)
        return name

    def read_output(self, run: Run) -> bytes | None:
        """The run's output, or None when it has none."""
        return self.store.get_blob(self.container, run.output) if run.output else None

    # -- reading -------------------------------------------------------------------------------

    def get(self, kind: Kind, name: str, run_id: str, *, parent_id: str | None = None) -> Run | None:
        """One run by id (None when unknown or not a run id)."""
        if not valid_run_id(run_id):
            return None
        row = self.store.get(self.table, partition(kind, name, parent_id), "r" + run_id)
        return Run.from_entity(row.entity, row.etag) if row else None

    def by_key(self, kind: Kind, name: str, key: str, *, parent_id: str | None = None) -> Run | None:
        """The run holding uniqueness `key` (a slot, event id or idempotency key), if any."""
        pk = partition(kind, name, parent_id)
        row = self.store.get(self.table, pk, key_row(key))
        if row is None:
            return None
        return self.get(kind, name, str(row["runId"]), parent_id=parent_id)

    def query(
        self,
        kind: Kind,
        name: str | None = None,
        *,
        status: Status | None = None,
        since: datetime | None = None,
        page_size: int = 50,
        continuation: str | None = None,
    ) -> RunPage:
        """Top-level runs of `name` (or of every name of `kind`), newest first within a name."""
        clauses = ["RowKey gt 'r'", "RowKey lt 's'"]
        params: dict[str, Any] = {}
        if name is not None:
            clauses.insert(0, "PartitionKey eq @pk")
            params["pk"] = partition(kind, name)
        else:
            clauses[:0] = ["PartitionKey gt @lo", "PartitionKey lt @hi", "parentId eq ''"]
            params.update(lo=f"{kind.value}.", hi=f"{kind.value}/")
        if status is not None:
            clauses.append("status eq @status")
            params["status"] = status.value
        if since is not None:
            clauses.append("created ge @since")
            params["since"] = since
        page = self.store.query(
            self.table,
            " and ".join(clauses),
            parameters=params,
            page_size=page_size,
            continuation=continuation,
        )
        return RunPage([Run.from_entity(r.entity, r.etag) for r in page.rows], page.continuation)

    def children(self, parent: Run) -> list[Run]:
        """Every child run of a fanned-out `parent`."""
        pk = partition(parent.kind, parent.name, parent.id)
        rows = self.store.query_all(
            self.table, "PartitionKey eq @pk and RowKey gt 'r' and RowKey lt 's'", parameters={"pk": pk}
        )
        return [Run.from_entity(r.entity, r.etag) for r in rows]

    def latest(self, kind: Kind, name: str, *, trigger: str | None = None, limit: int = 20) -> list[Run]:
        """The newest runs of `name` (optionally of one trigger), newest first."""
        clauses = "PartitionKey eq @pk and RowKey gt 'r' and RowKey lt 's'"
        params: dict[str, Any] = {"pk": partition(kind, name)}
        if trigger:
            clauses += " and trigger eq @trigger"
            params["trigger"] = trigger
        page = self.store.query(self.table, clauses, parameters=params, page_size=limit)
        return [Run.from_entity(r.entity, r.etag) for r in page.rows]

    # -- retention -----------------------------------------------------------------------------

    def purge(self, *, older_than: timedelta, kind: Kind | None = None) -> int:
        """Delete runs, key rows and outputs created before now - `older_than`; how many runs went."""
        cutoff = clock.now() - older_than
        clauses = "created lt @cutoff"
        params: dict[str, Any] = {"cutoff": cutoff}
        if kind is not None:
            clauses += " and PartitionKey gt @lo and PartitionKey lt @hi"
            params.update(lo=f"{kind.value}.", hi=f"{kind.value}/")
        rows = self.store.query_all(self.table, clauses, parameters=params)
        removed = 0
        for row in rows:
            if str(row["RowKey"]).startswith("r") and row.get("output"):
                self.store.delete_blob(self.container, str(row["output"]))
            if self.store.delete(self.table, str(row["PartitionKey"]), str(row["RowKey"])):
                removed += str(row["RowKey"]).startswith("r")
        return removed
