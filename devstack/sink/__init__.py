"""A local Teams / Slack incoming-webhook sink: records what the app posts, so tests can see it.

Control endpoints: `GET /_devstack/messages` -> `[{"service", "path", "body"}]` in arrival
order; `DELETE /_devstack/messages` clears them (docs/contract.md, ## Jobs).
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import Emulator, json_response
from devstack.sink.models import Inbox, Received
from devstack.sink.responses import SinkResponses
from devstack.sink.urls import url_paths

__all__ = ["Inbox", "Received", "SinkEmulator", "create_app"]


class SinkEmulator(Emulator):
    """Slack's and Teams' incoming webhooks, recording every accepted message."""

    name = "sink"

    def __init__(self, inbox: Inbox | None = None) -> None:
        super().__init__()
        self.inbox = inbox or Inbox()
        responses = SinkResponses(self.inbox)
        for path, operation, handler, methods in url_paths:
            self.route(path, operation, getattr(responses, handler), methods)

    def control(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/_devstack/messages":
            if request.method == "DELETE":
                self.inbox.clear()
                return Response(status=204)
            return json_response(
                [{"service": m.service, "path": m.path, "body": m.body} for m in self.inbox.all()]
            )
        return super().control(request)


def create_app(inbox: Inbox | None = None) -> SinkEmulator:
    return SinkEmulator(inbox)
