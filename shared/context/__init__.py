"""`GET /api/context`: what each connection is, what it may do, and what is wrong with it.

Like `Get-MgContext` / `Get-EntraContext` / `Get-ConnectionInformation`, plus what they do not
show: certificate expiry and Key Vault version, roles the code needs but lacks, and a diagnosis
naming the failing step and the fix. Never a token, secret, key or assertion.

    declarations.py the roles the route's own code needs (light: imported by function_app)
    _http.py        the route's body: query in, JSON or problem+json out
    _report.py      all connections in parallel under one deadline, plus host facts
    _connection.py  one connection: one token per resource, its facts, roles diffed
    _facts.py       facts dataclasses -> JSON, once
    _probe.py       one Graph call per connection and token
    _diagnosis.py   errors and missing roles turned into "step, status, code, fix"
    _words.py       the words PowerShell users know (AuthType, TokenCredentialType, Environment)

Importing the package is light; the report's modules load on first use (`from shared.context
import context_response` inside the handler).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.context._connection import ConnectionLike, evaluate_connection
    from shared.context._http import context_response
    from shared.context._report import UnknownConnectionError, build_report, host_facts

__all__ = [
    "ConnectionLike",
    "UnknownConnectionError",
    "build_report",
    "context_response",
    "evaluate_connection",
    "host_facts",
]

_WHERE = {
    "ConnectionLike": "shared.context._connection",
    "evaluate_connection": "shared.context._connection",
    "context_response": "shared.context._http",
    "UnknownConnectionError": "shared.context._report",
    "build_report": "shared.context._report",
    "host_facts": "shared.context._report",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'shared.context' has no attribute {name!r}")
