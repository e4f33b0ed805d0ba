"""`GET /api/context[?connection=NAME]`: decode the query, build the report, answer JSON or a problem."""

from __future__ import annotations

import json

import azure.functions as func

from shared.context._report import UnknownConnectionError, build_report
from shared.problems import instance_of, problem_response, respond


def context_response(req: func.HttpRequest) -> func.HttpResponse:
    """The report as JSON (200), or a problem: 400 empty name, 404 unknown name (listing the names)."""
    return respond(req, lambda: _answer(req))


def _answer(req: func.HttpRequest) -> func.HttpResponse:
    only = req.params.get("connection")
    if only is not None and not only.strip():
        return problem_response(
            400,
            "The connection parameter is empty; name a connection or leave the parameter out.",
            slug="invalid-parameter",
            instance=instance_of(req),
        )
    try:
        report = build_report(only)
    except UnknownConnectionError as exc:
        return problem_response(
            404,
            f"{exc} Configured connections: {', '.join(exc.names) or 'none'}.",
            title="Unknown connection",
            slug="unknown-connection",
            instance=instance_of(req),
            connections=exc.names,
        )
    return func.HttpResponse(
        json.dumps(report, indent=2),
        status_code=200,
        mimetype="application/json",
        # The report names identities and expiry dates: keep it out of shared caches.
        headers={"Cache-Control": "no-store"},
    )
