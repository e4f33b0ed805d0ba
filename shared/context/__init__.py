"""`GET /api/context`: what each connection is, what it may do, and what is wrong with it.

Like `Get-MgContext` / `Get-EntraContext` / `Get-ConnectionInformation`, plus what they do not
show: certificate expiry and Key Vault version, roles the code needs but lacks, and a diagnosis
naming the failing step and the fix. Never a token, secret, key or assertion.

    _http.py        the route's body: query in, JSON or problem+json out
    _report.py      all connections in parallel under one deadline, plus host facts
    _connection.py  one connection: describe(), one token per resource, roles diffed
    _diagnosis.py   errors and missing roles turned into "step, status, code, fix"
    _words.py       the words PowerShell users know (AuthType, TokenCredentialType, Environment)
    _live.py        the link to shared.connections and the current cloud
"""

from __future__ import annotations

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
