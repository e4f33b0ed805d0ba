"""Helpers for the telemetry tests: every exported string, metric sums, spans by trace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Captured:
    """What the app exported while the test ran."""

    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogRecordExporter


def exported_text(captured: Captured) -> Iterator[str]:
    """Every string the exporters hold: span names, attributes, events, log bodies and attributes."""
    for span in captured.spans.get_finished_spans():
        yield span.name
        yield from _strings(span.attributes)
        for event in span.events:
            yield event.name
            yield from _strings(event.attributes)
    for record in captured.logs.get_finished_logs():
        yield str(record.log_record.body)
        yield from _strings(record.log_record.attributes)


def _strings(attributes: Any) -> Iterator[str]:
    for value in (attributes or {}).values():
        if isinstance(value, str):
            yield value
        elif isinstance(value, tuple | list):
            yield from (str(v) for v in value)


def run_trace(captured: Captured, name: str) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The span named `name` and every span of its trace."""
    spans = captured.spans.get_finished_spans()
    root = next(s for s in spans if s.name == name)
    assert root.context is not None
    trace_id = root.context.trace_id
    return root, [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


def url_of(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("url.full") or attributes.get("http.url") or "")


def metric_sum(reader: InMemoryMetricReader, name: str, **attributes: Any) -> float:
    """The current value of counter `name` (histograms: their sum) over points matching `attributes`."""
    data = reader.get_metrics_data()
    total = 0.0
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    labels = point.attributes or {}
                    if all(labels.get(k) == v for k, v in attributes.items()):
                        value: Any = getattr(point, "value", None)
                        total += float(value if value is not None else getattr(point, "sum", 0))
    return total
