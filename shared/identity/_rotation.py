"""Key Vault material parsed once per version, with new versions picked up without a restart.

`current()` returns what was read last, and looks for a new version when `interval_s` has
passed since the last look (only on a token fetch, never on a warm cached token). `reload()`
looks now: after Entra says the credential is unknown or expired (AADSTS700027, 7000215...).
A periodic look that fails on an outage keeps the material it has: Entra decides whether it
still works.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.errors import AutomationError

log = logging.getLogger(__name__)

# Entra's answers after which a newer Key Vault version may fix things (reload and retry once):
# certificate not registered or expired, secret wrong or expired.
# https://learn.microsoft.com/entra/identity-platform/reference-error-codes
ROTATION_CODES = frozenset({700027, 700024, 7000215, 7000222, 700023})


def is_stale_credential(aadsts: int | None) -> bool:
    """True for the AADSTS numbers a newer credential version can cure."""
    return aadsts in ROTATION_CODES


R = TypeVar("R")
M = TypeVar("M")


@dataclass(frozen=True)
class Versioned(Generic[M]):
    version: str
    material: M


class VersionedMaterial(Generic[R, M]):
    """`read()` -> (version, raw) from Key Vault; `parse(raw)` runs once per new version."""

    def __init__(
        self,
        read: Callable[[], tuple[str, R]],
        parse: Callable[[R], M],
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock  # injectable: tests move time instead of waiting
        self._read = read
        self._parse = parse
        self._interval_s = interval_s
        self._current: Versioned[M] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def peek(self) -> Versioned[M] | None:
        return self._current

    def current(self) -> Versioned[M]:
        found = self._current
        if found is not None and self._clock() - self._checked_at < self._interval_s:
            return found
        with self._lock:
            found = self._current
            if found is not None and self._clock() - self._checked_at < self._interval_s:
                return found
            try:
                return self._load()
            except AutomationError as exc:
                if found is None or not exc.outage:
                    raise
                log.warning(
                    "Key Vault check for a new version failed (%s); keeping version %s",
                    exc.status,
                    found.version,
                )
                self._checked_at = self._clock()
                return found

    def reload(self) -> bool:
        """Look for a new version now; True when one was found."""
        with self._lock:
            before = self._current.version if self._current else None
            return self._load().version != before

    def pin(self, version: str, raw: R) -> None:
        """Use `version` (an older one Entra still accepts) until the next periodic check."""
        with self._lock:
            self._current = Versioned(version=version, material=self._parse(raw))
            self._checked_at = self._clock()
        log.warning("Falling back to Key Vault version %s until the next check", version)

    def _load(self) -> Versioned[M]:
        version, raw = self._read()
        self._checked_at = self._clock()
        if self._current is not None and self._current.version == version:
            return self._current
        self._current = Versioned(version=version, material=self._parse(raw))
        if version:
            log.info("Loaded Key Vault version %s", version)
        return self._current
