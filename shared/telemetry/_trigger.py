"""The trace context a run's span starts from: the host's invocation, and runs it links to.

Plain strings in a context variable, no SDK: function_app's handlers set it on every invocation
(`shared.telemetry.invocation`, which skips it once telemetry is known to be off), and only
`run_span` (shared/telemetry/_pipeline.py) turns it into a parent, `traceparent()` into a queue
message's link.

    with invocation(context):                 # func.Context: the host's invocation is the parent
        with linked(message.get("traceparent")):   # queued work links to the span that queued it
            ...run_span(...)...

docs/telemetry.md, "Correlation with the Functions host".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

# W3C Trace Context, version 00: https://www.w3.org/TR/trace-context/#traceparent-header
# (all-zero trace and span ids are invalid).
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
_TRACESTATE_MAX = 512  # https://www.w3.org/TR/trace-context/#tracestate-limits


@dataclass(frozen=True)
class Trigger:
    """Where the current invocation's runs hang: the host's traceparent, and traces to link to."""

    parent: str | None = None
    state: str = ""
    links: tuple[str, ...] = ()


NO_TRIGGER = Trigger()  # frozen: safe as the shared default
_current: ContextVar[Trigger] = ContextVar("telemetry_trigger", default=NO_TRIGGER)


def valid_traceparent(value: object) -> str | None:
    """`value` when it is a W3C traceparent (version 00), else None."""
    return value if isinstance(value, str) and _TRACEPARENT.fullmatch(value) else None


def current() -> Trigger:
    """The trigger of the code running now (empty outside an invocation)."""
    return _current.get()


def _read(trace_context: Any, *names: str) -> Any:
    # The worker's TraceContext has `trace_parent` (azure.functions' abc); older workers
    # only `Traceparent`, the name Microsoft's samples use.
    for name in names:
        value = getattr(trace_context, name, None)
        if value:
            return value
    return None


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """Runs inside hang under the host's invocation: `context` is the handler's `func.Context`.

    The host sends its invocation's W3C trace context with each invocation (HTTP: a child of the
    caller's `traceparent`); without one (or a malformed one) each run is a new trace.
    """
    trace_context = getattr(context, "trace_context", None)
    parent = valid_traceparent(_read(trace_context, "trace_parent", "Traceparent"))
    state = _read(trace_context, "trace_state", "Tracestate")
    state = state if isinstance(state, str) and parent and len(state) <= _TRACESTATE_MAX else ""
    token = _current.set(replace(_current.get(), parent=parent, state=state))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def linked(traceparent: object) -> Iterator[None]:
    """Runs inside link to the span `traceparent` names (ignored unless a valid traceparent)."""
    value = valid_traceparent(traceparent)
    if value is None:
        yield
        return
    trigger = _current.get()
    token = _current.set(replace(trigger, links=(*trigger.links, value)))
    try:
        yield
    finally:
        _current.reset(token)
