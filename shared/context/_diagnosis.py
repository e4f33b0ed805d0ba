"""What went wrong with a connection, in the form an admin acts on: step, status, code, fix.

Our errors already carry `step`, `status`, `code` and `hint` (shared/errors.py); this module
only fills gaps (a fallback fix per step) and writes the fix for missing roles, which no
service reports: the token simply lacks them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shared.config import CredentialKind
from shared.context._words import resource_display_name
from shared.errors import AutomationError
from shared.redaction import redact

logger = logging.getLogger(__name__)

# Fallback fixes by step, for errors that came without a hint.
_FIX_BY_STEP = {
    "configuration": "Fix the CONNECTIONS__<NAME>__* app settings named in the message (README, Settings).",
    "identity-endpoint": (
        "Check that the function app has the managed identity assigned (Identity blade) and that the "
        "configured client id is the identity's client id, not its object (principal) id."
    ),
    "key-vault": (
        "Check that the object exists in the vault and that the identity has 'Key Vault Secrets User' "
        "(certificates, secrets) or 'Key Vault Crypto User' (keys) on it."
    ),
    "certificate": "Renew or re-import the certificate in Key Vault (it must include its private key).",
    "entra": "Check the app registration's credentials (certificates, secrets, federated credentials).",
    "graph": "Check the Graph permissions of the connection's service principal.",
}


def diagnose_error(exc: BaseException) -> dict[str, object]:
    """The diagnosis of a failed connection; foreign errors are logged and described generically."""
    if not isinstance(exc, AutomationError):
        logger.error("context: unexpected %s", type(exc).__name__, exc_info=exc)
        return {
            "step": "app",
            "status": None,
            "code": None,
            "outage": False,
            "problem": f"Unexpected {type(exc).__name__} while checking the connection; see the app's logs.",
            "fix": None,
        }
    step = getattr(exc, "step", None)
    message = getattr(exc, "message", None) or str(exc)
    hint = getattr(exc, "hint", None) or _FIX_BY_STEP.get(str(step))
    return {
        "step": step,
        "status": getattr(exc, "status", None),
        "code": getattr(exc, "code", None),
        "outage": bool(getattr(exc, "outage", False)),
        "problem": redact(str(message)),
        "fix": redact(hint) if hint else None,
    }


def diagnose_missing_roles(
    kind: str, resource: str, missing: Sequence[str], *, client_id: str | None, principal_id: str | None
) -> dict[str, object]:
    """What to grant when the token lacks roles the code requires (the connection otherwise works)."""
    api = resource_display_name(resource)
    roles = ", ".join(missing)
    if kind == CredentialKind.MANAGED_IDENTITY:
        # Managed identities have no "API permissions" page: app roles are assigned with Graph.
        sp = principal_id or "<object id>"
        fix = (
            f"Assign the {api} app role(s) {roles} to the managed identity's service principal "
            f"(object id {sp}), e.g. New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId {sp} "
            f"-PrincipalId {sp} -ResourceId <{api} service principal id> -AppRoleId <id of each role>."
        )
    else:
        fix = (
            f"Grant {api} application permission(s) {roles} to the app's service principal "
            f"(app id {client_id or '?'}) and grant admin consent."
        )
    return {
        "step": "permissions",
        "status": None,
        "code": "MissingRoles",
        "outage": False,
        "problem": f"The token for {api} lacks role(s) the app's code requires: {roles}.",
        "fix": fix + " A cached token keeps its old roles until it expires (up to about an hour).",
    }
