"""Operators' views: `GET /api/webhooks/events[?source&status&since&top&continuation]`, `/{id}`,
and `GET /api/webhooks` (declared sources, handlers and Graph subscriptions)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import azure.functions as func

from shared.problems import instance_of, problem_response, respond

STATUSES = ("running", "succeeded", "failed", "duplicate")

MAX_TOP = 200


def _json(value: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value, default=str), status_code=status, mimetype="application/json")


def events(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, lambda: _events(req))


def _events(req: func.HttpRequest) -> func.HttpResponse:
    from shared.webhooks._ledger import EventLog

    source = str(req.route_params.get("source") or req.params.get("source") or "").lower() or None
    run_id = req.route_params.get("id")
    if run_id:
        record = EventLog().get(source or "", str(run_id))
        if record is None:
            return problem_response(
                404, "No webhook event has this source and id.", instance=instance_of(req)
            )
        return _json(record)
    status = req.params.get("status") or None
    if status is not None and status not in STATUSES:
        return problem_response(
            400, f"status must be one of {', '.join(STATUSES)}.", instance=instance_of(req)
        )
    since: datetime | None = None
    if req.params.get("since"):
        try:
            since = datetime.fromisoformat(req.params["since"].replace("Z", "+00:00"))
        except ValueError:
            return problem_response(400, "since must be an ISO 8601 date-time.", instance=instance_of(req))
        if since.tzinfo is None:
            return problem_response(
                400, "since needs a time zone (e.g. 2026-12-01T00:00:00Z).", instance=instance_of(req)
            )
    top_raw = req.params.get("top") or "50"
    if not top_raw.isdigit() or not 1 <= int(top_raw) <= MAX_TOP:
        return problem_response(
            400, f"top must be a whole number from 1 to {MAX_TOP}.", instance=instance_of(req)
        )
    if source is not None and not _valid_name(source):
        return problem_response(400, "source is not a webhook source name.", instance=instance_of(req))
    try:
        rows, continuation = EventLog().list(
            source=source,
            status=status,
            since=since,
            limit=int(top_raw),
            continuation=req.params.get("continuation") or None,
        )
    except ValueError:
        return problem_response(400, "continuation is not a token from this API.", instance=instance_of(req))
    return _json({"value": rows, "continuation": continuation})


def _valid_name(source: str) -> bool:
    from shared.runs import Kind, partition

    try:
        partition(Kind.WEBHOOK, source)
    except ValueError:
        return False
    return True


def overview(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, lambda: _json(describe()))


def describe() -> dict[str, Any]:
    """Sources, handlers and subscriptions, with no secret (names of Key Vault objects only)."""
    from shared.webhooks._registry import registrations, signed_scheme
    from shared.webhooks._settings import webhook_settings
    from shared.webhooks._subscriptions import subscription_states

    settings = webhook_settings()
    regs = registrations()
    signed = sorted({r.source for r in regs if r.kind == "signed"} | set(settings.signed_sources))
    return {
        "receivers": {
            "graph": {"route": "webhooks/graph", "clientStateSecret": settings.graph_client_state_secret},
            "eventgrid": {"route": "webhooks/eventgrid"},
            "signed": [
                {
                    "source": s,
                    "scheme": signed_scheme(s),
                    "route": f"webhooks/signed/{s}",
                    "secret": f"webhook-{s}",
                }
                for s in signed
            ],
        },
        "handlers": [{"kind": r.kind, "source": r.source, "match": r.pattern, "name": r.name} for r in regs],
        "queue": settings.queue,
        "retentionDays": settings.retention_days,
        "subscriptions": subscription_states(),
    }
