"""What a caller's Graph calls cost: requests, throttled answers, seconds waited, resource units.

`GraphClient.tracking()` opens a `Usage` for the current thread (or asyncio task: a context
variable); every request the client makes in that context is added to every open `Usage`, so a
job can report its own waits while other threads use the same client.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from shared import telemetry


@dataclass
class Usage:
    """Counts of one caller's Graph traffic; read them after (or during) the `tracking()` block."""

    requests: int = 0  # HTTP requests sent (a `$batch` call is one), retries included
    throttled: int = 0  # 429/503/504 answers seen, batch items included
    waited_seconds: float = 0.0  # time slept before retries (Retry-After or backoff)
    resource_units: float = 0.0  # sum of Graph's `x-ms-resource-unit` answer headers
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready counts (what a Run record stores)."""
        return {
            "requests": self.requests,
            "throttled": self.throttled,
            "waitedSeconds": round(self.waited_seconds, 3),
            "resourceUnits": self.resource_units,
        }


_open: contextvars.ContextVar[tuple[tuple[int, Usage], ...]] = contextvars.ContextVar(
    "graph_usage", default=()
)


@contextmanager
def tracking(owner: int) -> Iterator[Usage]:
    """Count the requests of client `owner` (its id) made in this context until the block ends."""
    usage = Usage()
    token = _open.set((*_open.get(), (owner, usage)))
    try:
        yield usage
    finally:
        _open.reset(token)


def record(
    owner: int,
    *,
    requests: int = 0,
    throttled: int = 0,
    waited: float = 0.0,
    resource_units: float = 0.0,
) -> None:
    """Add to every `Usage` open for `owner` in this context; and to the metrics when telemetry is on."""
    telemetry.graph_usage(requests=requests, throttled=throttled, waited=waited)
    for who, usage in _open.get():
        if who == owner:
            with usage._lock:
                usage.requests += requests
                usage.throttled += throttled
                usage.waited_seconds += waited
                usage.resource_units += resource_units
