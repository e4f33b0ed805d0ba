"""Error responses as RFC 9457 `application/problem+json`, and the one map from our errors to them.

Every route answers failures through `problem_response()` or `respond()`. Bodies carry our own
words only: an `AutomationError` message (written to be shown, and redacted anyway) or a fixed
sentence; never a stack trace, a foreign exception's text, a token or a query string (it may
hold the function key).

Status choices, all from the caller's point of view:
    400/404/405/415/422  the request is wrong (the caller can fix it)
    502                  Entra, Key Vault, Graph... refused or failed (sign-in, permission, upstream)
    503                  the app cannot serve now: identity endpoint outage, missing/invalid setting
    500                  a bug: logged with its stack, answered with a generic sentence
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

import azure.functions as func

from shared.errors import (
    AuthenticationFailedError,
    AutomationError,
    CertificatePendingError,
    ConfigurationError,
    CredentialError,
    IdentityUnavailableError,
    KeyVaultError,
    StorageError,
    UpstreamError,
)
from shared.redaction import redact

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Problem types are URNs: stable identifiers that need no hosted documentation page.
TYPE_PREFIX = "urn:entra-automation:problem:"
_RESERVED = frozenset({"type", "title", "status", "detail", "instance"})


@dataclass(frozen=True)
class Problem:
    """One problem detail object; `extensions` become extra members of the JSON body."""

    status: int
    title: str
    detail: str | None = None
    type: str = "about:blank"
    instance: str | None = None
    extensions: Mapping[str, object] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The JSON members, standard ones first; `None` members are left out."""
        body: dict[str, object] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = redact(self.detail)
        if self.instance is not None:
            body["instance"] = self.instance
        body.update({k: v for k, v in self.extensions.items() if k not in _RESERVED and v is not None})
        return body

    def to_response(self) -> func.HttpResponse:
        """An `HttpResponse` with the problem+json media type and any extra headers."""
        return func.HttpResponse(
            json.dumps(self.to_dict()),
            status_code=self.status,
            headers=dict(self.headers),
            mimetype=PROBLEM_JSON,
        )


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    slug: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: object,
) -> func.HttpResponse:
    """Answer a problem: `slug` names our problem type, else `about:blank` with the HTTP title."""
    return Problem(
        status=status,
        title=title or HTTPStatus(status).phrase,
        detail=detail,
        type=TYPE_PREFIX + slug if slug else "about:blank",
        instance=instance,
        extensions=extensions,
        headers=headers or {},
    ).to_response()


def instance_of(req: func.HttpRequest) -> str:
    """The request's path, without the query string (which may carry `code=<function key>`)."""
    return urlsplit(req.url).path or "/"


# (class, status, slug, title): the first class the error is an instance of wins, so subclasses
# come before their parents. tests/test_problems.py fails if an error class is left out.
_MAP: tuple[tuple[type[AutomationError], int, str, str], ...] = (
    (IdentityUnavailableError, 503, "identity-unavailable", "Managed identity endpoint unavailable"),
    (AuthenticationFailedError, 502, "authentication-failed", "Sign-in refused"),
    (CredentialError, 502, "credential-failed", "Could not get a token"),
    # Not a failure: Key Vault's CA issuer is still working on a certificate; ask again later.
    (CertificatePendingError, 503, "certificate-pending", "Certificate not issued yet"),
    (KeyVaultError, 502, "key-vault", "Key Vault request failed"),
    (UpstreamError, 502, "upstream", "Upstream service failed"),
    (StorageError, 503, "storage", "Storage unavailable"),
    (ConfigurationError, 503, "configuration", "App configuration invalid"),
)


def problem_for(exc: BaseException, *, instance: str | None = None) -> Problem:
    """Map an exception to a problem: ours by class, anything else to a generic, logged 500."""
    for cls, status, slug, title in _MAP:
        if isinstance(exc, cls):
            return Problem(
                status=status,
                title=title,
                detail=str(exc) or title,
                type=TYPE_PREFIX + slug,
                instance=instance,
                extensions=error_facts(exc),
                headers=_retry_after(exc) if status == 503 else {},
            )
    logger.error("unhandled %s at %s", type(exc).__name__, instance, exc_info=exc)
    return Problem(
        status=500,
        title="Internal error",
        detail="The app failed unexpectedly; the error is in its logs.",
        type=TYPE_PREFIX + "internal",
        instance=instance,
    )


def error_facts(exc: BaseException) -> dict[str, object]:
    """The structured members our errors may carry (`step`, `status`, `code`, `hint`), when set."""
    facts: dict[str, object] = {}
    for attr, member in (("step", "step"), ("status", "upstreamStatus"), ("code", "code"), ("hint", "hint")):
        value = getattr(exc, attr, None)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | str):
            facts[member] = redact(value) if isinstance(value, str) else value
    return facts


def _retry_after(exc: BaseException) -> dict[str, str]:
    seconds = getattr(exc, "retry_after", None)
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return {"Retry-After": str(max(1, round(seconds)))}
    return {}


def respond(req: func.HttpRequest, build: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    """Run a handler body; turn any exception into its problem response (the route's boundary)."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes a problem
        return problem_for(exc, instance=instance_of(req)).to_response()
