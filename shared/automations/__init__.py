"""HTTP automations that act for the caller: declarations, the route, on-behalf-of, built-ins.

    @automation("name", summary=..., input_schema={...}, output_schema={...},
                roles={"App.Role"}, scopes={"access_as_user"}, run_as=RunAs.APP)
    def handler(inv: Invocation) -> Mapping[str, Any]: ...

`handle(req)` serves `POST /api/automations/{name}`; `declared()` lists every automation (the
OpenAPI document reads it). Importing this package imports no SDK. See docs/automations.md.
"""

from __future__ import annotations

from shared.automations._declarations import Automation, RunAs, automation, declared, find, register
from shared.automations._invocation import Invocation

__all__ = ["Automation", "Invocation", "RunAs", "automation", "declared", "find", "handle", "register"]


def handle(req: object) -> object:
    """`POST /api/automations/{name}` (see `_route.handle`)."""
    from shared.automations._route import handle as _handle

    return _handle(req)  # type: ignore[arg-type]
