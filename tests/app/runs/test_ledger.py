"""shared.runs against Azurite: one run per key, conditional updates, queries, outputs, retention."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared import clock
from shared.errors import AuthenticationFailedError
from shared.runs import ErrorSummary, GraphUsage, Kind, Ledger, OutputTooLarge, Run, Status
from shared.storage import Account

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.fixture
def runs(storage: Account) -> Ledger:
    return Ledger(storage)


def _job(runs: Ledger, key: str = "", status: Status = Status.RUNNING, **fields: object) -> Run:
    return runs.new(Kind.JOB, "nightly", trigger="timer", status=status, key=key, **fields)  # type: ignore[arg-type]


def test_begin_twice_with_one_key_stores_one_run(runs: Ledger) -> None:
    """A second begin for the same key writes nothing and returns the run that holds the key."""
    first = runs.begin(_job(runs, key="2026-12-01T06:00:00Z"))
    second = runs.begin(_job(runs, key="2026-12-01T06:00:00Z"))
    assert first.created
    assert not second.created
    assert second.run.id == first.run.id
    assert len(runs.query(Kind.JOB, "nightly").runs) == 1


def test_racing_hosts_get_one_run_per_key(runs: Ledger, storage: Account) -> None:
    """Eight ledgers (as on eight hosts) beginning one key at once: exactly one creates the run."""
    barrier = threading.Barrier(8)
    created: list[bool] = []

    def race() -> None:
        ledger = Ledger(storage)
        run = _job(ledger, key="slot-1")
        barrier.wait()
        created.append(ledger.begin(run).created)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert created.count(True) == 1
    assert len(runs.query(Kind.JOB, "nightly").runs) == 1


def test_keys_with_forbidden_characters_are_escaped(runs: Ledger) -> None:
    """Keys holding '/', '#', '?' and '\\' (event ids, idempotency keys) are unique and found again."""
    key = "a/b#c?d\\e"
    claim = runs.begin(_job(runs, key=key))
    assert claim.created
    found = runs.by_key(Kind.JOB, "nightly", key)
    assert found is not None
    assert found.id == claim.run.id
    assert runs.by_key(Kind.JOB, "nightly", "a/b#c?d") is None


def test_finish_is_conditional_on_the_etag(runs: Ledger) -> None:
    """Finishing a run read before another writer changed it writes nothing and returns None."""
    run = runs.begin(_job(runs, key="k")).run
    winner = runs.finish(run, Status.SUCCEEDED, counts={"apps": 3}, graph=GraphUsage(requests=3))
    loser = runs.finish(run, Status.FAILED)
    assert winner is not None
    assert loser is None
    stored = runs.get(Kind.JOB, "nightly", run.id)
    assert stored is not None
    assert stored.status is Status.SUCCEEDED
    assert stored.counts == {"apps": 3}
    assert stored.graph.requests == 3
    assert stored.finished is not None


def test_error_summary_keeps_our_words_and_drops_tokens(runs: Ledger) -> None:
    """A failed run stores our error's type, code and redacted message; a foreign error only by type."""
    run = runs.begin(_job(runs, key="e")).run
    ours = AuthenticationFailedError(f"Entra refused, it echoed {JWT}", code="AADSTS700027", step="entra")
    done = runs.finish(run, Status.FAILED, error=ours)
    assert done is not None
    stored = runs.get(Kind.JOB, "nightly", run.id)
    assert stored is not None
    assert stored.error is not None
    assert stored.error.code == "AADSTS700027"
    assert JWT not in json.dumps(stored.to_dict())
    foreign = ErrorSummary.of(RuntimeError(f"https://x.blob.core.windows.net/?sig={JWT}"))
    assert foreign.type == "RuntimeError"
    assert JWT not in foreign.message


def test_query_filters_by_status_and_since_with_paging(runs: Ledger) -> None:
    """Runs filter by status and creation time and page newest first with a continuation."""
    with clock.use(clock.ManualClock(T0)) as moving:
        assert isinstance(moving, clock.ManualClock)
        for i in range(5):
            moving.advance(timedelta(minutes=1))
            run = runs.begin(_job(runs, key=f"s{i}")).run
            runs.finish(run, Status.FAILED if i % 2 else Status.SUCCEEDED)
    failed = runs.query(Kind.JOB, "nightly", status=Status.FAILED)
    assert [r.key for r in failed.runs] == ["s3", "s1"]
    recent = runs.query(Kind.JOB, "nightly", since=T0 + timedelta(minutes=4))
    assert [r.key for r in recent.runs] == ["s4", "s3"]
    first = runs.query(Kind.JOB, "nightly", page_size=2)
    rest = runs.query(Kind.JOB, "nightly", page_size=2, continuation=first.continuation)
    assert [r.key for r in first.runs] == ["s4", "s3"]
    assert [r.key for r in rest.runs] == ["s2", "s1"]


def test_children_live_under_their_parent(runs: Ledger) -> None:
    """A parent's children are listed with it and kept out of the top-level listing."""
    parent = runs.begin(_job(runs, key="p")).run
    for unit in ("a", "b"):
        runs.begin(
            runs.new(
                Kind.JOB, "nightly", trigger="queue", status=Status.QUEUED, key=unit, parent_id=parent.id
            )
        )
    other = runs.new(Kind.WEBHOOK, "graph", trigger="http", status=Status.SUCCEEDED, key="evt")
    runs.begin(other)
    assert sorted(c.key for c in runs.children(parent)) == ["a", "b"]
    assert [r.id for r in runs.query(Kind.JOB).runs] == [parent.id]
    assert [r.key for r in runs.query(Kind.WEBHOOK).runs] == ["evt"]


def test_output_round_trips_and_an_oversized_one_is_refused(storage: Account) -> None:
    """An output is stored as JSON in Blob storage; one over the limit raises and writes nothing."""
    runs = Ledger(storage, output_limit=1000)
    run = runs.begin(_job(runs, key="o")).run
    name = runs.write_output(run, {"expiring": [1, 2]})
    assert json.loads(storage.get_blob("run-outputs", name) or b"") == {"expiring": [1, 2]}
    with pytest.raises(OutputTooLarge, match="RUNS_OUTPUT_MAX_BYTES"):
        runs.write_output(run.evolve(id="9999999999999-00000000"), {"x": "y" * 2000})
    assert storage.get_blob("run-outputs", "job/nightly/9999999999999-00000000.json") is None


def test_purge_removes_runs_older_than_retention(runs: Ledger, storage: Account) -> None:
    """Purging by retention deletes old runs with their key rows and outputs, and keeps newer ones."""
    with clock.use(clock.ManualClock(T0)) as moving:
        assert isinstance(moving, clock.ManualClock)
        old = runs.begin(_job(runs, key="old")).run
        name = runs.write_output(old, {"x": 1})
        runs.save(old.evolve(output=name))
        moving.advance(timedelta(days=80))
        new = runs.begin(_job(runs, key="new")).run
        moving.advance(timedelta(days=15))
        assert runs.purge(older_than=timedelta(days=90)) == 1
    assert runs.get(Kind.JOB, "nightly", old.id) is None
    assert runs.by_key(Kind.JOB, "nightly", "old") is None
    assert storage.get_blob("run-outputs", name) is None
    assert runs.get(Kind.JOB, "nightly", new.id) is not None
    assert runs.begin(_job(runs, key="old")).created  # the key is free again


def test_unknown_or_malformed_ids_are_none(runs: Ledger) -> None:
    """A malformed run id is answered None without a storage call that could reject it."""
    assert runs.get(Kind.JOB, "nightly", "../../etc") is None
    assert runs.get(Kind.JOB, "nightly", "0000000000000-00000000") is None


def test_names_are_checked() -> None:
    """A run name with characters outside the allowed set is refused."""
    from shared.runs import partition

    with pytest.raises(ValueError, match="run name"):
        partition(Kind.JOB, "Bad/Name")
