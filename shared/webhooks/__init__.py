"""Webhooks from other services, with nothing lost: Graph change notifications (rich and lifecycle
too), Event Grid / CloudEvents, and signed webhooks (Standard Webhooks, GitHub).

    from shared.webhooks import WebhookEvent, on_graph, on_eventgrid, on_signed

    @on_signed("github", scheme="github")          # POST /api/webhooks/signed/github
    def on_push(event: WebhookEvent) -> None: ...

Receivers answer each sender's handshake, check authenticity, store the event durably and only
then answer 2xx; a queue-triggered processor runs each event's handlers once (a conditional
insert per event id), records the outcome in the event log and leaves repeated failures in the
poison queue. docs/webhooks.md has the whole story. Importing this package loads no SDK.
"""

from __future__ import annotations

from shared.webhooks._refusal import Refused
from shared.webhooks._registry import (
    WebhookEvent,
    declare_signed_source,
    on_eventgrid,
    on_graph,
    on_signed,
    webhook_handlers,
)
from shared.webhooks._signatures import GITHUB, STANDARD
from shared.webhooks._subscriptions import graph_subscription

__all__ = [
    "GITHUB",
    "STANDARD",
    "Refused",
    "WebhookEvent",
    "declare_signed_source",
    "graph_subscription",
    "on_eventgrid",
    "on_graph",
    "on_signed",
    "webhook_handlers",
]
