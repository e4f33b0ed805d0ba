"""Webhook secrets (`webhook-{source}`, the Graph clientState) read from Key Vault and kept in memory.

A value is read once and kept for the refresh interval (`Timing.refresh_interval_s`), so a
warm receiver makes no Key Vault call. When a presented signature does not match, the caller
asks again with `fresh=True`: the vault is read again at most once a minute per secret, which
picks up a new version without a restart and bounds what a flood of forged requests costs.
The previous value stays accepted next to the new one for the refresh interval, so deliveries
signed before a rotation are not refused. Values never reach a log or a message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FRESH_READ_INTERVAL_S = 60.0


@dataclass
class _Entry:
    values: list[str] = field(repr=False)
    read_at: float
    previous_until: float = 0.0


class SecretCache:
    """Secret values by name: newest first, plus the previous one for a while after a rotation."""

    def __init__(
        self, read: Callable[[str], str], *, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._read = read
        self._ttl = ttl_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def values(self, name: str, *, fresh: bool = False) -> list[str]:
        """Accepted values for `name`, newest first; `fresh` re-reads unless read in the last minute."""
        now = self._clock()
        entry = self._entries.get(name)
        if entry is not None:
            age = now - entry.read_at
            if age < self._ttl and not (fresh and age >= FRESH_READ_INTERVAL_S):
                return entry.values if now < entry.previous_until else entry.values[:1]
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and now - entry.read_at < FRESH_READ_INTERVAL_S:
                return entry.values if now < entry.previous_until else entry.values[:1]
            value = self._read(name)
            if entry is not None and entry.values and entry.values[0] != value:
                self._entries[name] = _Entry([value, entry.values[0]], now, previous_until=now + self._ttl)
            else:
                self._entries[name] = _Entry([value], now)
            return self._entries[name].values

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def key_vault_reader() -> Callable[[str], str]:
    """Read the latest version of a secret from the app's vault (`KEY_VAULT_URL`) as its managed identity."""
    from shared.config import get_settings
    from shared.errors import ConfigurationError
    from shared.identity._vault import vault_for

    def read(name: str) -> str:
        settings = get_settings()
        if not settings.key_vault_url:
            raise ConfigurationError(f"KEY_VAULT_URL is not set; webhook secret '{name}' lives in Key Vault.")
        return vault_for(settings.key_vault_url, settings.managed_identity).get_secret(name).value

    return read


_cache: SecretCache | None = None
_cache_lock = threading.Lock()


def secrets() -> SecretCache:
    """The process-wide cache over Key Vault."""
    global _cache
    if _cache is None:
        with _cache_lock:
            if _cache is None:
                from shared.config import get_settings

                _cache = SecretCache(key_vault_reader(), ttl_s=get_settings().timing.refresh_interval_s)
    return _cache


def reset_secrets() -> None:
    """Forget every cached value (tests)."""
    global _cache
    with _cache_lock:
        _cache = None
