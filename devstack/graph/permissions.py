"""Which app roles (`roles` claim) or delegated scopes (`scp` claim) each Graph operation accepts.

One table, from Microsoft Graph's permission reference (least to most privileged), so that
tests and tools can read it: `REQUIRED["ListUsers"].application`. An operation absent from the
table, or with both sets empty, needs only a valid token (as `$batch` and subscription reads).
A caller passes with any one of the listed permissions; otherwise 403 Authorization_RequestDenied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.graph.exceptions import AuthorizationRequestDenied


@dataclass(frozen=True)
class Permission:
    """Any one of `application` (app-only tokens) or `delegated` (user tokens) is enough."""

    application: frozenset[str]
    delegated: frozenset[str]


def _p(application: str, delegated: str) -> Permission:
    return Permission(frozenset(application.split()), frozenset(delegated.split()))


_DIRECTORY_RW = "Directory.Read.All Directory.ReadWrite.All"
_ORG = _p(
    f"Organization.Read.All Organization.ReadWrite.All {_DIRECTORY_RW}",
    f"User.Read Organization.Read.All Organization.ReadWrite.All {_DIRECTORY_RW}",
)
_APPLICATIONS = _p(
    f"Application.Read.All Application.ReadWrite.OwnedBy Application.ReadWrite.All {_DIRECTORY_RW}",
    f"Application.Read.All Application.ReadWrite.All {_DIRECTORY_RW}",
)
_FEDERATED = _p(
    "Application.Read.All Application.ReadWrite.OwnedBy Application.ReadWrite.All",
    "Application.Read.All Application.ReadWrite.All",
)
_APP_ROLE_ASSIGNMENTS = _p(
    f"Application.Read.All AppRoleAssignment.ReadWrite.All Application.ReadWrite.All {_DIRECTORY_RW}",
    f"Application.Read.All AppRoleAssignment.ReadWrite.All Application.ReadWrite.All {_DIRECTORY_RW}",
)
_USERS = _p(
    f"User.Read.All User.ReadWrite.All {_DIRECTORY_RW}",
    f"User.ReadBasic.All User.Read.All User.ReadWrite.All {_DIRECTORY_RW}",
)
_GROUPS = _p(
    f"GroupMember.Read.All Group.Read.All Group.ReadWrite.All {_DIRECTORY_RW}",
    f"GroupMember.Read.All Group.Read.All Group.ReadWrite.All {_DIRECTORY_RW}",
)
_GROUP_MEMBERS = _p(
    f"GroupMember.Read.All Group.Read.All GroupMember.ReadWrite.All Group.ReadWrite.All {_DIRECTORY_RW}",
    f"GroupMember.Read.All Group.Read.All GroupMember.ReadWrite.All Group.ReadWrite.All {_DIRECTORY_RW}",
)
_ANY = _p("", "")
_REVOKE_SESSIONS = _p(
    "User.RevokeSessions.All User.ReadWrite.All Directory.ReadWrite.All",
    "User.RevokeSessions.All User.ReadWrite.All Directory.ReadWrite.All",
)
_DIRECTORY_W = "Directory.ReadWrite.All"
_USERS_WRITE = _p(f"User.ReadWrite.All {_DIRECTORY_W}", f"User.ReadWrite.All {_DIRECTORY_W}")
_GROUPS_WRITE = _p(f"Group.ReadWrite.All {_DIRECTORY_W}", f"Group.ReadWrite.All {_DIRECTORY_W}")
_APPLICATIONS_WRITE = _p(
    f"Application.ReadWrite.OwnedBy Application.ReadWrite.All {_DIRECTORY_W}",
    f"Application.ReadWrite.All {_DIRECTORY_W}",
)
_GROUP_MEMBERS_WRITE = _p(
    "GroupMember.ReadWrite.All Group.ReadWrite.All Directory.ReadWrite.All",
    "GroupMember.ReadWrite.All Group.ReadWrite.All Directory.ReadWrite.All",
)

REQUIRED: Mapping[str, Permission] = {
    "GetOrganization": _ORG,
    "ListApplications": _APPLICATIONS,
    "GetApplication": _APPLICATIONS,
    "GetApplicationByAppId": _APPLICATIONS,
    "ListFederatedIdentityCredentials": _FEDERATED,
    "ListServicePrincipals": _APPLICATIONS,
    "GetServicePrincipal": _APPLICATIONS,
    "GetServicePrincipalByAppId": _APPLICATIONS,
    "ListServicePrincipalAppRoleAssignments": _APP_ROLE_ASSIGNMENTS,
    "ListUsers": _USERS,
    "GetUser": _USERS,
    # /me: any user token can read its own profile; app-only tokens get 400 (see responses).
    "GetMe": _p("", "User.Read User.ReadWrite User.ReadBasic.All User.Read.All User.ReadWrite.All"),
    "ListGroups": _GROUPS,
    "GetGroup": _GROUPS,
    "ListGroupMembers": _GROUP_MEMBERS,
    "Batch": _ANY,
    # Creating a subscription needs the permission to read its resource (checked per resource).
    "CreateSubscription": _ANY,
    "ListSubscriptions": _ANY,
    "GetSubscription": _ANY,
    "UpdateSubscription": _ANY,
    "DeleteSubscription": _ANY,
    "ReauthorizeSubscription": _ANY,  # and the resource's read permission (checked per resource)
    # Writes: the least privileged application permission first, as Microsoft's pages list them.
    "CreateUser": _USERS_WRITE,
    "UpdateUser": _USERS_WRITE,
    "DeleteUser": _USERS_WRITE,
    "RevokeSignInSessions": _REVOKE_SESSIONS,
    "UsersDelta": _USERS,
    "CreateGroup": _p(
        f"Group.Create Group.ReadWrite.All {_DIRECTORY_W}", f"Group.ReadWrite.All {_DIRECTORY_W}"
    ),
    "UpdateGroup": _GROUPS_WRITE,
    "DeleteGroup": _GROUPS_WRITE,
    "GroupsDelta": _GROUPS,
    "AddGroupMember": _GROUP_MEMBERS_WRITE,
    "RemoveGroupMember": _GROUP_MEMBERS_WRITE,
    "CreateApplication": _APPLICATIONS_WRITE,
    "UpdateApplication": _APPLICATIONS_WRITE,
    "AddPassword": _APPLICATIONS_WRITE,
    "RemovePassword": _APPLICATIONS_WRITE,
    # An application may roll its own keys with no permission at all; for another application
    # the caller needs _APPLICATIONS_WRITE: `credentials.authorize_write` checks both.
    "AddKey": _ANY,
    "RemoveKey": _ANY,
}

# What a subscription's `resource` (its first path segment) needs to be created.
SUBSCRIPTION_RESOURCES: Mapping[str, str] = {"users": "ListUsers", "groups": "ListGroups"}


def is_delegated(claims: Mapping[str, Any]) -> bool:
    """User tokens carry `scp`; app-only tokens carry `roles` (or nothing) and `idtyp: app`."""
    return bool(claims.get("scp")) or claims.get("idtyp") == "user"


def granted(claims: Mapping[str, Any]) -> set[str]:
    if is_delegated(claims):
        return set(str(claims.get("scp", "")).split())
    roles = claims.get("roles") or []
    return {str(r) for r in roles}


def authorize(claims: Mapping[str, Any], operation: str) -> None:
    """Raise 403 unless the token carries one of the permissions the operation accepts."""
    needed = REQUIRED.get(operation, _ANY)
    if not needed.application and not needed.delegated:
        return
    accepted = needed.delegated if is_delegated(claims) else needed.application
    if not accepted & granted(claims):
        raise AuthorizationRequestDenied()
