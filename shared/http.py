"""Pooled `requests.Session`s, deadlines that nested calls inherit, and bounded retry timing.

`trust_env=False`: requests would otherwise let `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` from
the environment override `verify=` (docs/identity.md, "TLS"), and proxies from the environment
apply to token calls. The CA bundle comes from `shared.config` and is passed explicitly; TLS
verification is never turned off. `requests` is imported on first use, not at import.
"""

from __future__ import annotations

import contextvars
import email.utils
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.config import get_settings

if TYPE_CHECKING:
    import requests

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_lock = threading.Lock()
_session: requests.Session | None = None


def session() -> requests.Session:
    """The shared session: pooled, `trust_env=False`, `verify` = the CA bundle or True."""
    global _session
    current = _session
    if current is not None:
        return current
    with _lock:
        if _session is None:
            _session = new_session()
        return _session


def new_session() -> requests.Session:
    """A new pooled session: `trust_env=False`, `verify` = the CA bundle or True, no silent retries."""
    import requests
    from requests.adapters import HTTPAdapter

    from shared import telemetry

    telemetry.ensure()  # telemetry on: configured before the first outbound call (docs/telemetry.md)
    s = requests.Session()
    s.trust_env = False
    s.verify = get_settings().ca_bundle or True
    # Concurrent cold starts open a few connections per host; keep them pooled.
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def reset_session() -> None:
    """Close and forget the shared session (tests)."""
    global _session
    with _lock:
        if _session is not None:
            _session.close()
        _session = None


def connection_verify() -> str | bool:
    """What azure-core's `connection_verify=` gets: the CA bundle when set, else True."""
    return get_settings().ca_bundle or True


@dataclass
class Deadline:
    """A point in monotonic time after which no new attempt starts."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0

    def timeout(self) -> tuple[float, float]:
        """A requests `timeout=` (connect, read) no longer than what is left."""
        timing = get_settings().timing
        left = max(0.05, self.remaining())
        return (min(timing.connect_timeout_s, left), min(timing.read_timeout_s, left))


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("deadline", default=None)


def current_deadline() -> Deadline:
    """The deadline of the operation in progress, or a fresh default one."""
    found = _current.get()
    return found if found is not None else Deadline.after(get_settings().timing.deadline_s)


@contextmanager
def deadline_scope(deadline: Deadline | None = None) -> Iterator[Deadline]:
    """Make `deadline` (or the enclosing one, or a fresh default) current for nested calls.

    Nested calls (the Key Vault pipeline asking our credential adapter for a token) have no
    deadline argument of their own; they find it here.
    """
    active = deadline or _current.get() or Deadline.after(get_settings().timing.deadline_s)
    token = _current.set(active)
    try:
        yield active
    finally:
        _current.reset(token)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse Retry-After: seconds (Graph sends decimals) or an HTTP date; None if absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """How long to wait before attempt `attempt + 1`: Retry-After capped, else jittered exponential."""
    cap = get_settings().timing.retry_after_cap_s
    if retry_after is not None:
        return min(retry_after, cap)
    base: float = min(cap, 0.25 * (2**attempt))
    return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


def wait_for_retry(deadline: Deadline, attempt: int, retry_after: float | None) -> bool:
    """Sleep before the next attempt if it fits in the deadline; False when it would not."""
    delay = backoff_delay(attempt, retry_after)
    if delay >= deadline.remaining():
        return False
    time.sleep(delay)
    return True
