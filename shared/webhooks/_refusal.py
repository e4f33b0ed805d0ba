"""Why a webhook request is refused: one error class carrying the HTTP status a sender must see.

Receivers raise `Refused` for anything the sender got wrong (bad signature, stale timestamp,
malformed body, unknown source, replayed id, too large). The routes turn it into
`application/problem+json`; the detail never holds a secret, a signature or a token, only
which rule failed.
"""

from __future__ import annotations

from shared.errors import AutomationError


class Refused(AutomationError):
    """A webhook request refused with a 4xx (or 503 when storage is down); nothing was enqueued."""

    default_step = "webhook"

    def __init__(self, http_status: int, slug: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, status=http_status, code=slug, hint=hint, outage=http_status >= 500)
        self.http_status = http_status
        self.slug = slug


def bad_request(message: str) -> Refused:
    return Refused(400, "webhook-malformed", message)


def unauthorized(message: str) -> Refused:
    return Refused(401, "webhook-unauthenticated", message)
