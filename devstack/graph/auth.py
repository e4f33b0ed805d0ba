"""Bearer token checks as Graph makes them, mapped to Graph's 401 texts."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from devstack.graph.exceptions import InvalidAuthenticationToken
from devstack.tenant.models import GRAPH_APP_ID, Tenant
from devstack.tenant.tokens import TokenRejected

# Every `aud` a Graph token can carry (v1 tokens use the URI with a trailing slash).
GRAPH_AUDIENCES = ["https://graph.microsoft.com", GRAPH_APP_ID, "https://graph.microsoft.com/"]

_MESSAGES = {
    "missing": "Access token is empty.",
    "expired": "Lifetime validation failed, the token is expired.",
    "audience": "Access token validation failure. Invalid audience.",
    "issuer": "Access token validation failure. Invalid issuer.",
    "signature": "Access token validation failure. Invalid signature.",
    # What Graph says for a bearer value that is not a JWT at all.
    "malformed": "CompactToken parsing failed with error code: 80049217",
}


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(tenant: Tenant, request: Request) -> dict[str, Any]:
    """The verified claims, or 401 InvalidAuthenticationToken with Graph's message."""
    try:
        return tenant.issuer.verify(bearer_token(request), GRAPH_AUDIENCES)
    except TokenRejected as exc:
        challenge = (
            f'Bearer realm="", authorization_uri="{tenant.authority_host}/{tenant.tenant_id}'
            '/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"'
        )
        raise InvalidAuthenticationToken(
            _MESSAGES.get(exc.kind, "Access token validation failure."),
            {"WWW-Authenticate": challenge},
        ) from exc
