"""Access tokens in memory, and a single-flight cache: one fetch in flight per key.

The warm path is a dict read and a clock comparison, with no lock; only a miss takes the
key's lock, re-checks, and fetches. N threads missing the same key cost one fetch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import jwt

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it expires (epoch seconds). The token never shows in a repr."""

    token: str = field(repr=False)
    expires_on: int

    def fresh(self, margin_s: float, now: float | None = None) -> bool:
        return self.expires_on - (now if now is not None else time.time()) > margin_s


def unverified_claims(token: str) -> dict[str, Any]:
    """A JWT's claims decoded WITHOUT verification (informational only); {} for a non-JWT token."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}  # not every resource's token is a JWT
    return claims


class SingleFlightCache(Generic[K, V]):
    """Values by key, kept while `is_fresh(value)`; concurrent misses for one key share one fetch."""

    def __init__(self, is_fresh: Callable[[V], bool]) -> None:
        self._is_fresh = is_fresh
        self._values: dict[K, V] = {}
        self._locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def peek(self, key: K) -> V | None:
        return self._values.get(key)

    def get(self, key: K, fetch: Callable[[], V]) -> V:
        value = self._values.get(key)
        if value is not None and self._is_fresh(value):
            return value
        with self._lock_for(key):
            value = self._values.get(key)
            if value is not None and self._is_fresh(value):
                return value
            value = fetch()
            self._values[key] = value
            return value

    def put(self, key: K, value: V) -> None:
        self._values[key] = value

    def discard(self, key: K) -> None:
        self._values.pop(key, None)

    def discard_where(self, predicate: Callable[[K], bool]) -> None:
        with self._guard:
            for key in [k for k in self._values if predicate(k)]:
                self._values.pop(key, None)

    def clear(self) -> None:
        with self._guard:
            self._values.clear()
            self._locks.clear()

    def _lock_for(self, key: K) -> threading.Lock:
        lock = self._locks.get(key)
        if lock is None:
            with self._guard:
                lock = self._locks.setdefault(key, threading.Lock())
        return lock
