"""Fixtures for job tests: an engine on the test's own storage names, a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shared import clock
from shared.jobs._engine import Engine
from shared.runs import Ledger
from shared.storage import Account
from tests.app.jobs.rotation_support import (  # noqa: F401 - fixtures
    http,
    rotating,
    rotation_env,
    secret_env,
    secret_rotating,
)
from tests.app.jobs.support import Pump

# 05:59:59.4 UTC: the next hourly slot is 06:00:00, reached with `moving.advance(...)`.
T0 = datetime(2026, 12, 1, 5, 59, 59, 400000, tzinfo=UTC)


@pytest.fixture
def runs(storage: Account) -> Ledger:
    return Ledger(storage)


@pytest.fixture
def engine(runs: Ledger) -> Engine:
    return Engine(runs)


@pytest.fixture
def moving() -> Iterator[clock.ManualClock]:
    """The app's clock, stopped at T0; the test moves it."""
    manual = clock.ManualClock(T0)
    with clock.use(manual):
        yield manual


@pytest.fixture
def pump(storage: Account, engine: Engine) -> Pump:
    return Pump(storage, engine, max_dequeue_count=3)
