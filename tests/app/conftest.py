"""Shared by the app tests: telemetry on with in-memory span, metric and log exporters, one test at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import telemetry
from tests.app.telemetry.support import Captured


@pytest.fixture(scope="session")
def _exporters() -> Captured:
    # The providers are process-wide (OpenTelemetry allows one of each): built once, cleared per test.
    return Captured(InMemorySpanExporter(), InMemoryMetricReader(), InMemoryLogRecordExporter())  # type: ignore[no-untyped-call]


@pytest.fixture
def captured(_exporters: Captured, monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    """Telemetry on (the app's own pipeline, scrubbing included) with in-memory exporters."""
    telemetry.deactivate()
    telemetry.activate(
        [SimpleSpanProcessor(_exporters.spans)],
        [_exporters.metrics],
        [SimpleLogRecordProcessor(_exporters.logs)],
    )
    _exporters.spans.clear()
    _exporters.logs.clear()
    try:
        yield _exporters
    finally:
        telemetry.deactivate()


@pytest.fixture
def telemetry_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Telemetry off, as with neither APPLICATIONINSIGHTS_CONNECTION_STRING nor TELEMETRY_CONSOLE set."""
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("TELEMETRY_CONSOLE", raising=False)
    telemetry.deactivate()
    try:
        yield
    finally:
        telemetry.deactivate()
