"""The one token type, and the single-flight cache the connection keeps its tokens in.

The warm path is a dict read and a clock comparison, with no lock; only a miss takes the
key's lock, re-checks, and fetches. N threads missing the same key cost one fetch.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def unverified_claims(token: str) -> Mapping[str, Any]:
    """A JWT's claims decoded WITHOUT verification (informational only); {} for a non-JWT token.

    Never used to decide access: the services that accept the token verify it.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return MappingProxyType({})
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(body))
    except ValueError:  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        return MappingProxyType({})
    return MappingProxyType(claims if isinstance(claims, dict) else {})


@dataclass(frozen=True)
class Token:
    """A bearer token (`value`, never in repr or str), its expiry in epoch seconds, and its claims.

    `claims` are decoded WITHOUT verification (roles, oid, tid, ...): for reports, not for access.
    """

    value: str = field(repr=False)
    expires_on: int
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)

    @classmethod
    def of(cls, value: str, expires_on: int) -> Token:
        return cls(value=value, expires_on=int(expires_on), claims=unverified_claims(value))

    def fresh(self, margin_s: float, now: float | None = None) -> bool:
        """True while the token has more than `margin_s` seconds to live."""
        return self.expires_on - (now if now is not None else time.time()) > margin_s


class SingleFlightCache(Generic[K, V]):
    """Values by key, kept while `is_fresh(value)`; concurrent misses for one key share one fetch."""

    def __init__(self, is_fresh: Callable[[V], bool]) -> None:
        self._is_fresh = is_fresh
        self._values: dict[K, V] = {}
        self._locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def peek(self, key: K) -> V | None:
        return self._values.get(key)

    def values(self) -> list[V]:
        return list(self._values.values())

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
