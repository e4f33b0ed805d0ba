"""Who may read /api/status: the function key (the host checks it), or Easy Auth's principal.

With App Service authentication on, the platform sets `WEBSITE_AUTH_ENABLED=True`, validates the
sign-in itself, injects `X-MS-CLIENT-PRINCIPAL` (base64 JSON `{"auth_typ", "claims": [{"typ",
"val"}], "name_typ", "role_typ"}`) and strips any copy a client sent
(https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities). Then the
route is anonymous at the host and the page requires that principal instead of the key. Without
the setting the header is forgeable: the route keeps its function key and the header means nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from shared.easy_auth import PRINCIPAL_HEADER, easy_auth_enabled

__all__ = ["easy_auth_enabled", "principal_name"]


def principal_name(headers: Mapping[str, str]) -> str | None:
    """The signed-in principal's name ("" when it has none), or None when no valid principal is there."""
    raw = next((v for k, v in headers.items() if k.lower() == PRINCIPAL_HEADER), None)
    if not raw:
        return None
    try:
        principal = json.loads(base64.b64decode(raw, validate=False))
    except (ValueError, binascii.Error):
        return None
    claims = principal.get("claims") if isinstance(principal, dict) else None
    if not isinstance(claims, list) or not claims:
        return None
    name_typ = principal.get("name_typ")
    return next(
        (str(c.get("val", "")) for c in claims if isinstance(c, Mapping) and c.get("typ") == name_typ), ""
    )
