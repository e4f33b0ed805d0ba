"""Bearer-token checks and RBAC decisions, in Key Vault's order: 401 before 403 before 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request

from devstack.keyvault import rbac
from devstack.keyvault.exceptions import (
    ForbiddenByRbac,
    InvalidAudience,
    InvalidIssuer,
    MalformedToken,
    MissingToken,
    TokenExpired,
    Unauthorized,
    UnresolvedSigningKey,
)
from devstack.tenant.models import Tenant
from devstack.tenant.tokens import TokenRejected

RESOURCE = "https://vault.azure.net"
AUDIENCES = [RESOURCE, RESOURCE + "/"]


@dataclass(frozen=True)
class Caller:
    """The verified token's principal."""

    object_id: str
    app_id: str
    issuer: str


class Gatekeeper:
    """Authenticates callers with the tenant's issuer and authorizes them with `vault_roles`."""

    def __init__(self, tenant: Tenant, *, subscription_id: str, resource_group: str, vault_name: str) -> None:
        self.tenant = tenant
        self.vault_name = vault_name
        self.scope = (
            f"/subscriptions/{subscription_id}/resourcegroups/{resource_group.lower()}"
            f"/providers/microsoft.keyvault/vaults/{vault_name}"
        )

    @property
    def challenge(self) -> str:
        authority = f"{self.tenant.authority_host}/{self.tenant.tenant_id}"
        return f'Bearer authorization="{authority}", resource="{RESOURCE}"'

    def authenticate(self, request: Request) -> Caller:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "pop") or not token:
            raise MissingToken(self.challenge)
        try:
            claims: dict[str, Any] = self.tenant.issuer.verify(token, AUDIENCES)
        except TokenRejected as exc:
            raise self._rejection(exc, token) from exc
        return Caller(
            object_id=str(claims.get("oid", "")),
            app_id=str(claims.get("appid") or claims.get("azp") or ""),
            issuer=str(claims.get("iss", "")),
        )

    def _rejection(self, exc: TokenRejected, token: str) -> Unauthorized:
        peek = self.tenant.issuer.peek(token)
        if exc.kind == "audience":
            return InvalidAudience(str(peek.get("aud", "")), self.challenge)
        if exc.kind == "issuer":
            return InvalidIssuer(self.tenant.issuer.issuer, str(peek.get("iss", "")), self.challenge)
        if exc.kind == "expired":
            return TokenExpired(self.challenge)
        if exc.kind == "missing":
            return MissingToken(self.challenge)
        if exc.kind == "signature":
            # Only a well-formed JWT gets here: its header segment is what the service quotes.
            return UnresolvedSigningKey(token.split(".", 1)[0], self.challenge)
        # Not a JWT at all: never echo the value back (it may be a secret pasted by mistake).
        return MalformedToken(self.challenge)

    def authorize(self, caller: Caller, action: str, object_path: str, *, managed: bool = False) -> None:
        """Raise 403 ForbiddenByRbac unless one of the caller's vault roles grants `action`."""
        with self.tenant.lock:
            roles = set(self.tenant.vault_roles.get(caller.object_id, set()))
        if rbac.allows(roles, action, managed=managed):
            return
        raise ForbiddenByRbac(
            app_id=caller.app_id,
            object_id=caller.object_id,
            issuer=caller.issuer,
            action=action,
            resource=f"{self.scope}/{object_path}".rstrip("/"),
            vault=self.vault_name,
        )
