"""App Service authentication (Easy Auth): is it on? One setting, read by automations and the status page.

The platform sets `WEBSITE_AUTH_ENABLED=True` when authentication is on; only then does it inject
`X-MS-CLIENT-PRINCIPAL` and strip client-sent copies, so only then may the header be trusted
(https://learn.microsoft.com/azure/app-service/reference-app-settings#authentication--authorization).
Light: function_app reads it when the app is indexed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

EASY_AUTH_ENABLED = "WEBSITE_AUTH_ENABLED"
PRINCIPAL_HEADER = "x-ms-client-principal"


def easy_auth_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether App Service authentication is on (the platform's own setting says so)."""
    return environ.get(EASY_AUTH_ENABLED, "").strip().lower() == "true"
