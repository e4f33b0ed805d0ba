"""What the sink received: every message, in order (the state behind the HTTP layer)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Received:
    """One message posted to an incoming webhook."""

    service: str  # "slack" | "teams"
    path: str
    body: Any
    content_type: str


class Inbox:
    """Messages in arrival order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Received] = []

    def add(self, item: Received) -> None:
        with self._lock:
            self._items.append(item)

    def all(self) -> list[Received]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
