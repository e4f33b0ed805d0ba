"""Who called: the facts of a validated token (or of Easy Auth's principal) the app acts on."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class CallerKind(enum.Enum):
    """A user (delegated token, `scp`) or an application (app-only token, `roles`)."""

    USER = "user"
    APP = "app"


@dataclass(frozen=True)
class Caller:
    """The caller, without the token: object id, tenant, UPN, client app, roles and scopes."""

    kind: CallerKind
    object_id: str
    tenant_id: str
    app_id: str
    upn: str | None = None
    name: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    version: str | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Caller:
        """From validated claims: `idtyp` says app or user when present, else `scp` does.

        v2 tokens name the client in `azp`, v1 in `appid`; `roles` are app roles (of an app,
        or assigned to a user), `scp` the delegated scopes, space-separated.
        """
        scp = claims.get("scp")
        scopes = frozenset(scp.split()) if isinstance(scp, str) else frozenset()
        roles_claim = claims.get("roles")
        roles = frozenset(str(r) for r in roles_claim) if isinstance(roles_claim, list) else frozenset()
        idtyp = claims.get("idtyp")
        if idtyp in ("app", "user"):
            kind = CallerKind.APP if idtyp == "app" else CallerKind.USER
        else:
            kind = CallerKind.USER if scopes else CallerKind.APP
        upn = claims.get("upn") or claims.get("preferred_username") or claims.get("unique_name")
        return cls(
            kind=kind,
            object_id=str(claims.get("oid", "")),
            tenant_id=str(claims.get("tid", "")),
            app_id=str(claims.get("azp") or claims.get("appid") or ""),
            upn=str(upn) if upn and kind is CallerKind.USER else None,
            name=str(claims["name"]) if claims.get("name") else None,
            roles=roles,
            scopes=scopes if kind is CallerKind.USER else frozenset(),
            version=str(claims.get("ver")) if claims.get("ver") else None,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON facts (responses, audit rows): never a token."""
        return {
            "kind": self.kind.value,
            "objectId": self.object_id,
            "tenantId": self.tenant_id,
            "appId": self.app_id,
            "upn": self.upn,
            "name": self.name,
            "roles": sorted(self.roles),
            "scopes": sorted(self.scopes),
            "tokenVersion": self.version,
        }
