"""Webhook settings (app settings; every name is in docs/contract.md), read once and validated."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import ConfigurationError
from shared.webhooks._signatures import SCHEMES

MAX_BODY_BYTES = "WEBHOOKS_MAX_BODY_BYTES"
RETENTION_DAYS = "WEBHOOKS_RETENTION_DAYS"
SIGNED_SOURCES = "WEBHOOKS_SIGNED_SOURCES"
GRAPH_CLIENT_STATE_SECRET = "WEBHOOKS_GRAPH_CLIENT_STATE_SECRET"
GRAPH_CONNECTION = "WEBHOOKS_GRAPH_CONNECTION"
GRAPH_APP_ID = "WEBHOOKS_GRAPH_APP_ID"
GRAPH_TENANT_ID = "WEBHOOKS_GRAPH_TENANT_ID"
GRAPH_ENCRYPTION_CERTIFICATE = "WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE"
GRAPH_NOTIFICATION_URL = "WEBHOOKS_GRAPH_NOTIFICATION_URL"
GRAPH_SUBSCRIPTIONS = "WEBHOOKS_GRAPH_SUBSCRIPTIONS"
HANDLER_MODULES = "WEBHOOKS_HANDLER_MODULES"  # comma-separated modules that register handlers
MAX_DEQUEUE = "AzureFunctionsJobHost__extensions__queues__maxDequeueCount"

QUEUE = "webhook-events"  # fixed: function_app.py names it in the queue trigger
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
RESERVED_SOURCES = frozenset({"graph", "eventgrid", "events"})


@dataclass(frozen=True)
class WebhookSettings:
    max_body_bytes: int = 1_048_576
    retention_days: int = 30
    queue: str = QUEUE
    signed_sources: Mapping[str, str] = field(default_factory=dict)
    graph_client_state_secret: str = "webhook-graph-clientstate"
    graph_connection: str | None = None
    graph_app_id: str | None = None
    graph_tenant_id: str | None = None
    graph_encryption_certificate: str | None = None
    graph_notification_url: str | None = None
    graph_subscriptions: str | None = None
    max_dequeue_count: int = 5


def valid_source(name: str) -> bool:
    return bool(_SOURCE.match(name)) and name not in RESERVED_SOURCES


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigurationError(f"{name} is '{raw}'; expected a whole number from {low} to {high}.")
    return int(raw)


def _sources(raw: str) -> dict[str, str]:
    sources: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, _, scheme = item.partition("=")
        name, scheme = name.strip().lower(), scheme.strip().lower()
        if not valid_source(name) or scheme not in SCHEMES:
            raise ConfigurationError(
                f"{SIGNED_SOURCES} has '{item}'; expected name=scheme pairs such as "
                f"'github=github,billing=standard-webhooks' (names: a-z, 0-9, -; "
                f"schemes: {', '.join(SCHEMES)})."
            )
        sources[name] = scheme
    return sources


def load(environ: Mapping[str, str]) -> WebhookSettings:
    """Read and check every webhook setting (pure)."""

    def text(name: str) -> str | None:
        return (environ.get(name) or "").strip() or None

    return WebhookSettings(
        max_body_bytes=_int(environ, MAX_BODY_BYTES, 1_048_576, 1024, 100 * 1024 * 1024),
        retention_days=_int(environ, RETENTION_DAYS, 30, 1, 3650),
        signed_sources=_sources(environ.get(SIGNED_SOURCES) or ""),
        graph_client_state_secret=text(GRAPH_CLIENT_STATE_SECRET) or "webhook-graph-clientstate",
        graph_connection=text(GRAPH_CONNECTION),
        graph_app_id=text(GRAPH_APP_ID),
        graph_tenant_id=text(GRAPH_TENANT_ID),
        graph_encryption_certificate=text(GRAPH_ENCRYPTION_CERTIFICATE),
        graph_notification_url=text(GRAPH_NOTIFICATION_URL),
        graph_subscriptions=text(GRAPH_SUBSCRIPTIONS),
        max_dequeue_count=_int(environ, MAX_DEQUEUE, _host_max_dequeue(), 1, 1000),
    )


@functools.cache
def _host_max_dequeue() -> int:
    """host.json's extensions.queues.maxDequeueCount (the host's default, 5, when absent)."""
    try:
        doc = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text(encoding="utf-8"))
        value = doc["extensions"]["queues"]["maxDequeueCount"]
    except (OSError, ValueError, KeyError, TypeError):
        return 5
    return value if isinstance(value, int) and value > 0 else 5


def webhook_settings() -> WebhookSettings:
    """The settings from the process environment (read each call: cheap, and tests change it)."""
    return load(os.environ)
