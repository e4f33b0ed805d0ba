"""What an automation's handler gets: the input, the caller, and the means to act."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.auth import Caller
    from shared.automations._graph import GraphCaller
    from shared.automations._settings import AutomationSettings


@dataclass(frozen=True)
class Invocation:
    """One call: validated input, caller, settings; `user_token` only for on-behalf-of automations."""

    name: str
    input: Mapping[str, Any]
    caller: Caller
    settings: AutomationSettings
    run_id: str
    user_token: str | None = field(default=None, repr=False)

    def graph_as_app(self) -> GraphCaller:
        """Graph with the connection's app-only token."""
        from shared.automations._graph import GraphCaller, app_token

        return GraphCaller(lambda: app_token(self.settings.connection))

    def graph_as_caller(self, scopes: list[str]) -> GraphCaller:
        """Graph with a token obtained on behalf of the caller (msal OBO, the connection's credential)."""
        from shared.automations._graph import GraphCaller
        from shared.identity import connection

        if self.user_token is None:
            raise RuntimeError("on-behalf-of needs the caller's token")  # the route never allows this
        token = self.user_token
        return GraphCaller(lambda: connection(self.settings.connection).on_behalf_of(token, scopes).value)
