"""What telemetry may carry: URLs without their query string, and nothing shaped like a credential.

The requests instrumentation and azure-core's tracing record the full URL of each call; a
Key Vault call carries `?api-version=`, a managed-identity call `?resource=...`, and a nextLink
may carry a `$skiptoken`. Every string attribute of every span, span event and log record goes
through `scrub` before it is exported (docs/telemetry.md, "What is never recorded").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared.redaction import redact

# Attributes that hold only a query string: dropped outright.
DROPPED = frozenset({"url.query", "http.query"})


def scrub_url(value: str) -> str:
    """`value` without query string or fragment when it is an http(s) URL or a path with a query."""
    if value.startswith(("http://", "https://")):
        parts = urlsplit(value)
        netloc = parts.netloc.rsplit("@", 1)[-1]  # never user:password@
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if value.startswith("/") and "?" in value:  # http.target: path and query
        return value.split("?", 1)[0]
    return value


def scrub(value: Any) -> Any:
    """One attribute value, made safe to export (strings and sequences of strings)."""
    if isinstance(value, str):
        return redact(scrub_url(value))
    if isinstance(value, tuple | list):
        return type(value)(scrub(v) for v in value)
    return value


def scrub_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `attributes` with query strings and credential-shaped text removed."""
    return {k: scrub(v) for k, v in (attributes or {}).items() if k not in DROPPED}
