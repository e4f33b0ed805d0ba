"""`GET /api/status`: one server-rendered HTML page for operators (docs/contract.md, ## Status and telemetry).

    _collect.py  the data: /api/context's report, the job ledger, the webhook event log; each part
                 fails alone (its section says so) and absent parts say "not configured"
    _render.py   the HTML: inline CSS, an inline SVG certificate timeline, no script, escaped text
    _http.py     the route: HTML with a Content-Security-Policy that forbids everything else

Importing the package is light; the modules load on first use (inside the handler).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.status._collect import collect
    from shared.status._http import CSP, status_response
    from shared.status._render import render

__all__ = ["CSP", "collect", "render", "status_response"]

_WHERE = {
    "collect": "shared.status._collect",
    "CSP": "shared.status._http",
    "status_response": "shared.status._http",
    "render": "shared.status._render",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'shared.status' has no attribute {name!r}")
