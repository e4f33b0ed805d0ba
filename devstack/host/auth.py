"""Function keys as Azure checks them: `x-functions-key` header or `code` query parameter.

anonymous: no key; function: the function key or the master key; admin: the master key only.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

FUNCTION_KEY_ENV = "DEVSTACK_FUNCTION_KEY"
MASTER_KEY_ENV = "DEVSTACK_MASTER_KEY"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"


def auth_level_name(level: object) -> str:
    """`AuthLevel.FUNCTION`, "function" or None (the app default, FUNCTION) as a lower-case name."""
    if level is None:
        return "function"
    text = str(getattr(level, "value", level)).lower()
    return text.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class HostKeys:
    """The keys of this start: one function (host) key and the master key."""

    function_key: str
    master_key: str

    @classmethod
    def generate(cls, environ: Mapping[str, str] = os.environ) -> HostKeys:
        """New random keys per start, unless given by DEVSTACK_FUNCTION_KEY / DEVSTACK_MASTER_KEY."""
        return cls(
            function_key=environ.get(FUNCTION_KEY_ENV) or secrets.token_urlsafe(32),
            master_key=environ.get(MASTER_KEY_ENV) or secrets.token_urlsafe(32),
        )

    def _is(self, presented: str, key: str) -> bool:
        return hmac.compare_digest(presented.encode(), key.encode())

    def allows(self, level: str, presented: str | None) -> bool:
        """Whether a request presenting `presented` may call a function of auth level `level`."""
        if level == "anonymous":
            return True
        if not presented:
            return False
        if self._is(presented, self.master_key):
            return True
        return level == "function" and self._is(presented, self.function_key)
