"""Telemetry: OpenTelemetry to Application Insights (Entra authentication) or the console.

    from shared import telemetry
    with telemetry.run_span(run, connection="graph_cert") as span:   # one trace per run
        ...
        span.failed(error)                                          # status + error type
    telemetry.graph_usage(requests=1, throttled=0, waited=0.0)       # metrics
    telemetry.webhook_ack("graph", "graph", 202)
    with telemetry.invocation(context):                            # function_app: host's invocation
        ...                                                         # is the runs' parent
    link = telemetry.traceparent()          # a queue message's field (None when off: no field)
    with telemetry.linked(message.get("traceparent")):             # its processing links back
        ...

Off (no APPLICATIONINSIGHTS_CONNECTION_STRING, no TELEMETRY_CONSOLE) nothing here imports an
SDK: every call is a check of one module variable. On, the pipeline (shared/telemetry/_pipeline.py)
is configured on the first call that needs it (the first run, the first HTTP session), not at
import: importing azure-monitor-opentelemetry would break the cold import budget
(benchmarks/bench_cold_import.py). Settings: shared/telemetry/_settings.py; docs/telemetry.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

from shared.errors import AutomationError
from shared.telemetry import _trigger
from shared.telemetry._settings import TelemetrySettings, telemetry_settings
from shared.telemetry._trigger import current, linked

if TYPE_CHECKING:
    from shared.runs import Run
    from shared.telemetry._pipeline import Pipeline

__all__ = [
    "NO_SPAN",
    "RunSpan",
    "TelemetrySettings",
    "activate",
    "active",
    "deactivate",
    "ensure",
    "graph_usage",
    "invocation",
    "linked",
    "run_span",
    "telemetry_settings",
    "traceparent",
    "webhook_ack",
]

log = logging.getLogger(__name__)
_lock = threading.Lock()
# None: not decided yet; False: off for this process; a Pipeline: on.
_state: Pipeline | bool | None = None


class RunSpan(Protocol):
    """What a run's code may do with its span (nothing at all when telemetry is off)."""

    def set(self, **attributes: str | int | bool | None) -> None: ...

    def failed(self, error: BaseException | None, status: str = "failed") -> None: ...


class _Off:
    """The span when telemetry is off."""

    def set(self, **attributes: str | int | bool | None) -> None:
        return None

    def failed(self, error: BaseException | None, status: str = "failed") -> None:
        return None


NO_SPAN: RunSpan = _Off()


def ensure() -> Pipeline | None:
    """The pipeline, configured on first use when the settings ask for it; None when off."""
    global _state
    state = _state
    if state is None:
        with _lock:
            if _state is None:
                _state = _start()
            state = _state
    return None if state is None or isinstance(state, bool) else state


def _start() -> Pipeline | bool:
    try:
        settings = telemetry_settings()
    except AutomationError as exc:
        # Telemetry never stops the app: the setting is named in the log, telemetry stays off.
        log.error("telemetry off: %s", exc.message)
        return False
    if not settings.on:
        return False
    from shared.telemetry._pipeline import start

    try:
        return start(settings)
    except (ValueError, ImportError) as exc:
        # ValueError: configure_azure_monitor's answer to a malformed connection string;
        # ImportError: the telemetry packages are not installed (requirements.txt pins them).
        log.error("telemetry off: %s: %s", type(exc).__name__, exc)
        return False


_NOTHING: AbstractContextManager[None] = nullcontext()  # reusable: it holds no state


def invocation(context: Any) -> AbstractContextManager[None]:
    """Runs inside hang under the host's invocation (`_trigger.invocation`); `context` is the
    handler's `func.Context`. Once telemetry is known to be off nothing would read it, so nothing
    is set: the webhook receivers' ack path costs no more than without it."""
    if _state is False:
        return _NOTHING
    return _trigger.invocation(context)


def active() -> bool:
    """Whether telemetry is on (configures it if the settings ask and it is not yet)."""
    return ensure() is not None


@contextmanager
def run_span(
    run: Run, *, connection: str | None = None, server: bool = False, **attributes: str | int | None
) -> Iterator[RunSpan]:
    """The span of one run (id, kind, name, connection): a child of the host's invocation
    (`invocation`), else of the span around it, else a new trace; linked to `linked` traces."""
    pipeline = ensure()
    if pipeline is None:
        yield NO_SPAN
        return
    values: dict[str, Any] = {
        "run.id": run.id,
        "run.kind": run.kind.value,
        "run.name": run.name,
        "run.trigger": run.trigger,
        "run.attempt": run.attempt,
    }
    if run.parent_id:
        values["run.parent_id"] = run.parent_id
    if connection:
        values["connection"] = connection
    values.update({k.replace("_", ".", 1): v for k, v in attributes.items() if v is not None})
    with pipeline.run_span(
        f"{run.kind.value} {run.name}", "server" if server else "consumer", values, current()
    ) as span:
        yield span


def traceparent() -> str | None:
    """The W3C traceparent a queue message carries, so that its processing links back here.

    The current span's (a fanned-out parent run), else the host's invocation's (the HTTP request
    that queues an on-demand run or a webhook event; docs/telemetry.md, "Links across queues").
    Ids and flags only. None when telemetry is off (decided here on first use: no SDK import
    when off) or when there is neither.
    """
    pipeline = ensure()
    if pipeline is None:
        return None
    return pipeline.traceparent() or current().parent


def graph_usage(*, requests: int = 0, throttled: int = 0, waited: float = 0.0) -> None:
    """Count Graph traffic (called for every request by shared/graph/_usage.py)."""
    state = _state
    if state is None or isinstance(state, bool):
        return
    instruments = state.instruments
    if requests:
        instruments.graph_requests.add(requests)
    if throttled:
        instruments.graph_throttled.add(throttled)
    if waited:
        instruments.graph_wait.record(waited)


def webhook_ack(receiver: str, source: str, status: int) -> None:
    """Count one answered webhook delivery (shared/webhooks/_receivers.py)."""
    pipeline = ensure()
    if pipeline is not None:
        pipeline.instruments.webhook_acks.add(
            1, {"webhook.receiver": receiver, "webhook.source": source, "http.response.status_code": status}
        )


def activate(
    span_processors: Sequence[Any] = (),
    metric_readers: Sequence[Any] = (),
    log_processors: Sequence[Any] = (),
) -> None:
    """Turn telemetry on without Azure Monitor, with these processors and readers (tests, tools).

    The providers are process-wide and built once: the first call's processors and readers stay.
    """
    global _state
    from shared.telemetry._pipeline import Pipeline, start_local

    with _lock:
        start_local(span_processors, metric_readers, log_processors)
        _state = Pipeline()


def deactivate() -> None:
    """Turn telemetry off (dependency instrumentation removed); settings are read again on next use."""
    global _state
    with _lock:
        if _state not in (None, False):
            from shared.telemetry._pipeline import uninstrument

            uninstrument()
        _state = None
