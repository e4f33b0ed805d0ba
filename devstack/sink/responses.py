"""The sink's answers, as the services give them to an incoming-webhook POST.

Slack answers `200 ok` (text/plain) and `400 invalid_payload` / `400 no_text` for a body it
cannot use (https://api.slack.com/messaging/webhooks#handling_errors); a Teams connector
answers `200 1` and 400 for a body that is not a card or a `text` message.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.sink.models import Inbox, Received


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        return None


class SinkResponses:
    """Records each message and answers like the service."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def slack(self, request: Request, rest: str) -> Response:
        body = _body(request)
        if not isinstance(body, dict):
            return Response("invalid_payload", status=400, content_type="text/plain")
        if not body.get("text") and not body.get("blocks"):
            return Response("no_text", status=400, content_type="text/plain")
        self.inbox.add(Received("slack", request.path, body, request.content_type or ""))
        return Response("ok", status=200, content_type="text/plain")

    def teams(self, request: Request, rest: str) -> Response:
        body = _body(request)
        if not isinstance(body, dict) or not (body.get("text") or body.get("attachments")):
            return Response("Bad payload received by generic incoming webhook.", status=400)
        self.inbox.add(Received("teams", request.path, body, request.content_type or ""))
        return Response("1", status=200, content_type="text/plain")
