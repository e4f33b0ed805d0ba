"""The OpenTelemetry pipeline: Azure Monitor (Entra authentication) and/or the console.

Imported only when telemetry is on (shared/telemetry/__init__.py); this is where the SDKs load.
Either way the same processors sit before any exporter: `ScrubSpans` and `ScrubLogs`
(shared/telemetry/_scrub.py). Dependency spans come from the requests instrumentation (Graph,
Entra through msal, the managed-identity endpoint) and azure-core's tracing (Key Vault, storage).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared import __version__
from shared.redaction import redact
from shared.telemetry._scrub import scrub_attributes
from shared.telemetry._settings import TelemetrySettings

SCOPE = "shared"  # the tracer, meter and logger name: the app's own telemetry
SERVICE = "entra-automation-functions"
# Instrumentations azure-monitor-opentelemetry would load and this app has no use for.
_UNUSED = ("django", "fastapi", "flask", "psycopg2", "urllib")


class ScrubSpans(SpanProcessor):
    """Before export: query strings off every URL attribute, credential-shaped text blanked."""

    def on_end(self, span: ReadableSpan) -> None:
        # The ended span is read-only by API; the one object every later processor (the
        # exporters') receives is rewritten here, before them (processors run in order).
        span._attributes = scrub_attributes(span.attributes)
        span._events = tuple(Event(e.name, scrub_attributes(e.attributes), e.timestamp) for e in span.events)


class ScrubLogs(LogRecordProcessor):
    """Before export: a log record's text and attributes through the same scrub."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        if isinstance(record.body, str):
            record.body = redact(record.body)
        record.attributes = scrub_attributes(record.attributes)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class Instruments:
    """The app's metrics (docs/telemetry.md, "Metrics")."""

    graph_requests: Any
    graph_throttled: Any
    graph_wait: Any
    webhook_acks: Any

    @classmethod
    def create(cls) -> Instruments:
        meter = metrics.get_meter(SCOPE, __version__)
        return cls(
            graph_requests=meter.create_counter(
                "graph.requests", unit="{request}", description="HTTP requests sent to Microsoft Graph"
            ),
            graph_throttled=meter.create_counter(
                "graph.throttled",
                unit="{response}",
                description="Graph answers 429/503/504 (batch items too)",
            ),
            graph_wait=meter.create_histogram(
                "graph.throttled.wait", unit="s", description="Seconds slept before a Graph retry"
            ),
            webhook_acks=meter.create_counter(
                "webhook.acks", unit="{response}", description="Webhook deliveries answered, by status"
            ),
        )


def azure_monitor_options(
    settings: TelemetrySettings,
    *,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    log_processors: Sequence[LogRecordProcessor] = (),
) -> dict[str, Any]:
    """The keywords for `configure_azure_monitor`: Entra authentication with the app's identity."""
    from azure.identity import ManagedIdentityCredential

    return {
        "connection_string": settings.connection_string,
        # Local authentication is off on the component (infra/modules/monitoring.bicep): the
        # exporter publishes with an Entra token of the app's identity (Monitoring Metrics
        # Publisher). https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
        "credential": ManagedIdentityCredential(client_id=settings.client_id),
        "span_processors": [ScrubSpans(), *span_processors],
        "log_record_processors": [ScrubLogs(), *log_processors],
        "metric_readers": list(metric_readers),
        # Our loggers only: the SDKs' HTTP logging would add noise (and full request URLs).
        "logger_name": SCOPE,
        "instrumentation_options": {name: {"enabled": False} for name in _UNUSED},
        "enable_live_metrics": False,
        # The distro's default is a rate-limited sampler that adapts from zero: the first spans
        # after a (lazy) configure would be dropped, i.e. the first run's trace. Keep every trace
        # unless the operator chose a sampler (OTEL_TRACES_SAMPLER, docs/telemetry.md).
        **({} if os.environ.get("OTEL_TRACES_SAMPLER") else {"sampling_ratio": 1.0}),
    }


def _console() -> tuple[list[SpanProcessor], list[MetricReader], list[LogRecordProcessor]]:
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    return (
        [SimpleSpanProcessor(ConsoleSpanExporter())],
        [PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)],
        [BatchLogRecordProcessor(ConsoleLogRecordExporter())],
    )


class Pipeline:
    """The configured pipeline: the app's tracer and instruments."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer(SCOPE, __version__)
        self.instruments = Instruments.create()

    @contextmanager
    def run_span(self, name: str, kind: str, attributes: dict[str, Any]) -> Iterator[RunSpan]:
        span_kind = SpanKind.SERVER if kind == "server" else SpanKind.CONSUMER
        with self.tracer.start_as_current_span(
            name, kind=span_kind, attributes=attributes, record_exception=True, set_status_on_exception=True
        ) as span:
            yield RunSpan(span)


class RunSpan:
    """The span of one run (a job run, a webhook event's processing, an automation call)."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def set(self, **attributes: str | int | bool | None) -> None:
        """Add attributes (`run_status="failed"` becomes `run.status`); None values are skipped."""
        for key, value in attributes.items():
            if value is not None:
                self._span.set_attribute(key.replace("_", ".", 1), value)

    def failed(self, error: BaseException | None, status: str = "failed") -> None:
        """Mark the run failed: the span's status, its error type (never the message's secrets)."""
        self.set(run_status=status)
        self._span.set_status(Status(StatusCode.ERROR, type(error).__name__ if error else status))
        if error is not None:
            self._span.set_attribute("error.type", type(error).__name__)


_providers: tuple[Any, Any, Any] | None = None


def start_local(
    span_processors: Sequence[SpanProcessor],
    metric_readers: Sequence[MetricReader],
    log_processors: Sequence[LogRecordProcessor],
) -> None:
    """The pipeline without Azure Monitor (console, tests): providers set once per process."""
    global _providers
    if _providers is None:
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.instrumentation.logging.handler import LoggingHandler
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        resource = Resource.create({"service.name": SERVICE, "service.version": __version__})
        tracer_provider = TracerProvider(resource=resource)
        for processor in (ScrubSpans(), *span_processors):
            tracer_provider.add_span_processor(processor)
        meter_provider = MeterProvider(metric_readers=list(metric_readers), resource=resource)
        logger_provider = LoggerProvider(resource=resource)
        for log_processor in (ScrubLogs(), *log_processors):
            logger_provider.add_log_record_processor(log_processor)
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        set_logger_provider(logger_provider)
        logging.getLogger(SCOPE).addHandler(LoggingHandler(logger_provider=logger_provider))
        _providers = (tracer_provider, meter_provider, logger_provider)
    instrument()


def instrument() -> None:
    """Dependency spans: requests (Graph, Entra, identity endpoint) and azure-core (Key Vault)."""
    from azure.core.settings import settings
    from azure.core.tracing.ext.opentelemetry_span import OpenTelemetrySpan
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    instrumentor = RequestsInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    settings.tracing_implementation = OpenTelemetrySpan


def uninstrument() -> None:
    """Undo `instrument` (tests switch telemetry off again)."""
    from azure.core.settings import settings
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    instrumentor = RequestsInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    settings.tracing_implementation = None


def start(settings: TelemetrySettings) -> Pipeline:
    """Configure OpenTelemetry for `settings` (once per process) and return the pipeline."""
    spans, readers, logs = _console() if settings.console else ([], [], [])
    if settings.connection_string:
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            **azure_monitor_options(
                settings, span_processors=spans, metric_readers=readers, log_processors=logs
            )
        )
    else:
        start_local(spans, readers, logs)
    return Pipeline()
