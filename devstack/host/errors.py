"""Errors of the local Functions host.

HostStartupError: the app cannot be served as declared (import failure, unsupported binding,
    missing setting); raised before anything listens, so there is never a half-running app.
"""

from __future__ import annotations


class HostStartupError(Exception):
    """The app cannot be served; the message says what to fix."""
