"""The automation route's own refusals (each answered by the route, with its status):

    AutomationError
    ├── AutomationNotFoundError   404  no automation of that name
    ├── ForbiddenError            403  the caller lacks a role or scope (`missing` names them)
    ├── InputInvalidError         400  the body is not JSON or breaks the input schema (`errors`)
    └── TargetNotFoundError       404  the user or group the input names does not exist
(`shared.auth.InvalidTokenError` is the 401.)
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.errors import AutomationError


class AutomationNotFoundError(AutomationError):
    """No automation of that name is declared."""

    default_step = "automation"

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"No automation named '{name}'. Declared: {', '.join(known) or 'none'}.")
        self.known = list(known)


class ForbiddenError(AutomationError):
    """The caller is authenticated but lacks what the automation requires."""

    default_step = "authorization"

    def __init__(
        self, message: str, *, missing_roles: Sequence[str] = (), missing_scopes: Sequence[str] = ()
    ) -> None:
        super().__init__(message, code="insufficient_scope")
        self.missing_roles = sorted(missing_roles)
        self.missing_scopes = sorted(missing_scopes)


class InputInvalidError(AutomationError):
    """The request body is not a JSON document matching the automation's input schema."""

    default_step = "input"

    def __init__(self, message: str, errors: Sequence[dict[str, str]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class TargetNotFoundError(AutomationError):
    """The object the input names (a user, a group) does not exist in the directory."""

    default_step = "graph"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"No {kind} '{key}' in the directory.")
