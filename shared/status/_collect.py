"""The page's data, from the same sources as /api/context, /api/jobs and /api/webhooks.

Each section is gathered on its own: a failing source becomes `{"error": "..."}` for that section
(the exception's type and our own message, never a foreign text that might quote a request).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared import clock

RUNS_SHOWN = 10
DEFAULT_ROTATION_DAYS = 30


def _safe(build: Callable[[], Any]) -> Any:
    from shared.errors import AutomationError

    try:
        return build()
    except AutomationError as exc:
        return {"error": exc.message}
    except Exception as exc:  # noqa: BLE001 - one broken source must not break the page
        return {"error": f"{type(exc).__name__}: the source could not be read."}


def rotation_days() -> int:
    """The credential-expiry job's window (JOB_CREDENTIAL_EXPIRY_DAYS), the rotation threshold."""
    raw = os.environ.get("JOB_CREDENTIAL_EXPIRY_DAYS", "")
    return int(raw) if raw.isdigit() and 0 <= int(raw) <= 3650 else DEFAULT_ROTATION_DAYS


def _context() -> dict[str, Any]:
    from shared.context import build_report

    return build_report()


def _jobs() -> list[dict[str, Any]]:
    from shared.jobs._declare import registry
    from shared.jobs._engine import engine
    from shared.jobs._http import describe
    from shared.runs import Kind

    out = []
    for job in registry.all():
        entry = describe(job, with_roles=False)
        entry["runs"] = [r.to_dict() for r in engine().runs.latest(Kind.JOB, job.name, limit=RUNS_SHOWN)]
        out.append(entry)
    return out


def _webhooks() -> dict[str, Any]:
    from shared.runs import Kind
    from shared.webhooks._ledger import EventLog
    from shared.webhooks._views import describe

    overview = describe()
    since = clock.now() - timedelta(hours=24)
    per_source: dict[str, dict[str, int]] = {}
    poisoned = 0
    log = EventLog()
    continuation = None
    for _ in range(50):  # bounded: 50 pages of 200 events
        page = log.ledger.query(Kind.WEBHOOK, None, since=since, page_size=200, continuation=continuation)
        for run in page.runs:
            counts = per_source.setdefault(run.name, {})
            counts[run.status.value] = counts.get(run.status.value, 0) + 1
            poisoned += bool(run.detail.get("poisoned"))
        continuation = page.continuation
        if not continuation:
            break
    return {
        "subscriptions": overview["subscriptions"],
        "sources": sorted({h["source"] for h in overview["handlers"]} | set(per_source)),
        "last24h": per_source,
        "poisoned": poisoned,
    }


def collect() -> dict[str, Any]:
    """Everything the page shows, each part `{"error": ...}` on its own failure."""
    return {
        "generatedAt": clock.now(),
        "rotationDays": rotation_days(),
        "context": _safe(_context),
        "jobs": _safe(_jobs),
        "webhooks": _safe(_webhooks),
    }
