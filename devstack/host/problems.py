"""Errors the host itself answers, as RFC 9457 `application/problem+json`; never a stack trace."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus

from werkzeug.wrappers import Response

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """A problem response with the standard title for `status`."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    return Response(json.dumps(body), status=status, headers=dict(headers or {}), content_type=PROBLEM_JSON)
