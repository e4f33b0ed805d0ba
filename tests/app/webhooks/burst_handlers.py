"""Handlers the nothing-lost test loads into a real `devstack up` (WEBHOOKS_HANDLER_MODULES): each call
appends the event id to the file named by WEBHOOK_EFFECTS_FILE, so the test counts effects."""

from __future__ import annotations

import os
import threading

from shared.webhooks import WebhookEvent, on_eventgrid, on_graph

_lock = threading.Lock()


def _record(event: WebhookEvent) -> None:
    with _lock, open(os.environ["WEBHOOK_EFFECTS_FILE"], "a", encoding="utf-8") as out:
        out.write(f"{event.source} {event.id}\n")


on_graph("*")(_record)
on_eventgrid("*")(_record)
