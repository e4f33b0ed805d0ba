"""The built-in automations: whoami (on-behalf-of), revoke-sessions and group-membership (as the app).

Each is a declaration (schema, who may call, how it runs) and a handler; the handlers import
nothing heavy until they run. Examples: docs/automations.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from shared.automations._declarations import RunAs, automation
from shared.automations._errors import TargetNotFoundError
from shared.automations._invocation import Invocation

CALLER_SCOPE = "access_as_user"  # the delegated scope the API exposes (App ID URI/access_as_user)
REVOKE_ROLE = "Sessions.Revoke"
GROUPS_ROLE = "GroupMembers.Manage"

_USER_KEY: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 256,
    "pattern": "^[^/?#\\\\%]+$",
    "description": "The user's object id or user principal name.",
}
_CALLER_OUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["user", "app"]},
        "objectId": {"type": "string"},
        "tenantId": {"type": "string"},
        "appId": {"type": "string"},
        "upn": {"type": ["string", "null"]},
        "name": {"type": ["string", "null"]},
        "roles": {"type": "array", "items": {"type": "string"}},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "tokenVersion": {"type": ["string", "null"]},
    },
    "required": ["kind", "objectId", "tenantId", "appId", "roles", "scopes"],
}


def _path_key(value: str) -> str:
    return quote(value, safe="@.")


@automation(
    "whoami",
    summary="Who the caller is, as Graph sees them on their behalf (/me), and the scopes that arrived.",
    input_schema={"type": "object", "additionalProperties": False, "properties": {}},
    output_schema={
        "type": "object",
        "properties": {
            "caller": _CALLER_OUT,
            "me": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "displayName": {"type": ["string", "null"]},
                    "userPrincipalName": {"type": ["string", "null"]},
                    "mail": {"type": ["string", "null"]},
                    "jobTitle": {"type": ["string", "null"]},
                },
                "required": ["id"],
            },
            "graphScopes": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["caller", "me", "graphScopes"],
    },
    scopes={CALLER_SCOPE},
    run_as=RunAs.CALLER,
    graph_permissions={"User.Read (delegated)"},
)
def whoami(inv: Invocation) -> Mapping[str, Any]:
    from shared.automations._graph import GraphCaller
    from shared.config import get_settings
    from shared.identity import connection

    assert inv.user_token is not None  # RunAs.CALLER: the route passes the caller's token
    scopes = [f"{get_settings().cloud.graph_resource}/User.Read"]
    obo = connection(inv.settings.connection).on_behalf_of(inv.user_token, scopes)
    _, me = GraphCaller(lambda: obo.value).request(
        "GET", "/me?$select=id,displayName,userPrincipalName,mail,jobTitle"
    )
    me = me if isinstance(me, dict) else {}
    return {
        "caller": inv.caller.to_dict(),
        "me": {k: me.get(k) for k in ("id", "displayName", "userPrincipalName", "mail", "jobTitle")},
        "graphScopes": sorted(str(obo.claims.get("scp", "")).split()),
    }


@automation(
    "revoke-sessions",
    summary="Revoke a user's refresh tokens and session cookies (Graph revokeSignInSessions), as the app.",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {"user": _USER_KEY},
        "required": ["user"],
    },
    output_schema={
        "type": "object",
        "properties": {"user": {"type": "string"}, "revoked": {"type": "boolean"}},
        "required": ["user", "revoked"],
    },
    roles={REVOKE_ROLE},
    scopes={CALLER_SCOPE},
    graph_permissions={"User.RevokeSessions.All"},
)
def revoke_sessions(inv: Invocation) -> Mapping[str, Any]:
    from shared.automations._graph import GraphCallError

    user = str(inv.input["user"])
    try:
        _, body = inv.graph_as_app().request("POST", f"/users/{_path_key(user)}/revokeSignInSessions")
    except GraphCallError as exc:
        if exc.status == 404:
            raise TargetNotFoundError("user", user) from exc
        raise
    return {"user": user, "revoked": bool(body.get("value", True)) if isinstance(body, dict) else True}


@automation(
    "group-membership",
    summary="Add a user to a group or remove them from it, as the app; idempotent (no change is no error).",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "group": {"type": "string", "format": "uuid", "description": "The group's object id."},
            "user": _USER_KEY,
            "action": {"enum": ["add", "remove"]},
        },
        "required": ["group", "user", "action"],
    },
    output_schema={
        "type": "object",
        "properties": {
            "group": {"type": "string"},
            "user": {"type": "string"},
            "action": {"enum": ["add", "remove"]},
            "changed": {"type": "boolean"},
            "member": {"type": "boolean"},
        },
        "required": ["group", "user", "action", "changed", "member"],
    },
    roles={GROUPS_ROLE},
    scopes={CALLER_SCOPE},
    graph_permissions={"GroupMember.ReadWrite.All", "User.Read.All"},
)
def group_membership(inv: Invocation) -> Mapping[str, Any]:
    from shared.automations._graph import GraphCallError
    from shared.config import get_settings

    graph = inv.graph_as_app()
    group, user, action = str(inv.input["group"]), str(inv.input["user"]), str(inv.input["action"])
    for kind, path in (
        ("group", f"/groups/{_path_key(group)}?$select=id"),
        ("user", f"/users/{_path_key(user)}?$select=id"),
    ):
        try:
            _, found = graph.request("GET", path)
        except GraphCallError as exc:
            if exc.status == 404:
                raise TargetNotFoundError(kind, group if kind == "group" else user) from exc
            raise
        if kind == "user":
            user_id = str(found["id"]) if isinstance(found, dict) else user
    changed = True
    try:
        if action == "add":
            ref = f"{get_settings().cloud.graph_resource}/v1.0/directoryObjects/{user_id}"
            graph.request("POST", f"/groups/{_path_key(group)}/members/$ref", json={"@odata.id": ref})
        else:
            graph.request("DELETE", f"/groups/{_path_key(group)}/members/{_path_key(user_id)}/$ref")
    except GraphCallError as exc:
        already = action == "add" and exc.status == 400 and "already exist" in exc.message
        absent = action == "remove" and exc.status == 404
        if not (already or absent):
            raise
        changed = False
    return {"group": group, "user": user, "action": action, "changed": changed, "member": action == "add"}
