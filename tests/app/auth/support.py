"""Helpers for the auth tests (not a test module)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.conftest import tls_session


class CountingFetch:
    """The network seam of `SigningKeys`: real GETs to the emulator, counted."""

    def __init__(self, ca: str) -> None:
        self.session = tls_session(ca)
        self.urls: list[str] = []

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.urls.append(url)
        response = self.session.get(url, timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
