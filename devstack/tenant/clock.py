"""The devstack's clock for credential dates: real time plus an offset tests can move forward.

What it moves: every judgement of "now" about the directory's credentials and objects, which
all read `devstack.tenant.pki.utcnow()`: whether a registered certificate or secret is expired
(Entra's token endpoint, Graph's addKey proof check), the start of newly issued certificates and
secrets, Key Vault's certificate dates, subscription lifetimes, revokeSignInSessions. So "30 days
before expiry" is a move of the clock, not a wait.

What it does not move: the times inside tokens and the checks of client assertions, because the
other side (msal, azure-identity, PyJWT in the app) compares them with the real clock.

One offset per process (every emulator of every tenant in it); `PUT /_devstack/clock` on the
Graph emulator sets it (docs/contract.md).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

_lock = threading.Lock()
_offset_s = 0.0


def offset_s() -> float:
    return _offset_s


def set_offset(seconds: float) -> float:
    """Set the offset (seconds ahead of real time; 0 puts the clock back); the new offset."""
    global _offset_s
    if seconds < 0:
        raise ValueError("the devstack clock only moves forward of real time (offset >= 0)")
    with _lock:
        _offset_s = float(seconds)
        return _offset_s


def now() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time() + _offset_s, dt.UTC)
