"""The tenant's objects as Graph's JSON: users, groups, applications, service principals, grants.

Pure functions of the tenant model (`devstack.tenant.models`), plus the `Entity` description of
each collection that `$select` and `$filter` check against.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization

from devstack.graph.query import Entity
from devstack.tenant import models as m

Item = dict[str, Any]

_NS = uuid.UUID("6d1f6c3e-3c1b-4b0e-9d0a-6f8e8f0d5a10")  # devstack's namespace for derived ids

# Microsoft Graph's published app role ids, so that code comparing ids sees the real ones; a role
# missing here gets a stable uuid5 of its name.
GRAPH_APP_ROLE_IDS: dict[str, str] = {
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "Group.Create": "bf7b1a76-6e77-406b-b258-bf5c7720e98f",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
    "Organization.Read.All": "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    "Sites.Selected": "883ea226-0bf2-4a8f-9f9d-92c9162a727d",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
    "User.RevokeSessions.All": "77f3a031-c388-4f99-b373-dc68676a979e",
}


def app_role_id(resource_app_id: str, role: str) -> str:
    if resource_app_id == m.GRAPH_APP_ID and role in GRAPH_APP_ROLE_IDS:
        return GRAPH_APP_ROLE_IDS[role]
    return str(uuid.uuid5(_NS, f"approle:{resource_app_id}:{role}"))


def resource_sp_id(resource_app_id: str) -> str:
    """Object id of a first-party API's service principal in this tenant (stable per app id)."""
    return str(uuid.uuid5(_NS, f"sp:{resource_app_id}"))


def graph_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entity(collection: str, resource: str, props: str, filterable: str, defaults: str = "") -> Entity:
    return Entity(
        collection=collection,
        resource=resource,
        type_name=f"Microsoft.DirectoryServices.{resource}",
        properties=frozenset(props.split()),
        filterable=frozenset(filterable.split()),
        defaults=frozenset(defaults.split()),
    )


_USER_DEFAULTS = (
    "id businessPhones displayName givenName jobTitle mail mobilePhone officeLocation "
    "preferredLanguage surname userPrincipalName"
)
USERS = _entity(
    "users",
    "User",
    f"{_USER_DEFAULTS} accountEnabled department createdDateTime userType mailNickname "
    "signInSessionsValidFromDateTime",
    "id userPrincipalName displayName mail givenName surname accountEnabled department jobTitle userType",
    _USER_DEFAULTS,
)
GROUPS = _entity(
    "groups",
    "Group",
    "id displayName mailNickname description securityEnabled mailEnabled groupTypes mail createdDateTime",
    "id displayName mailNickname securityEnabled mailEnabled mail",
)
APPLICATIONS = _entity(
    "applications",
    "Application",
    "id appId displayName createdDateTime signInAudience identifierUris publisherDomain "
    "keyCredentials passwordCredentials api requiredResourceAccess tags description deletedDateTime",
    "id appId displayName identifierUris signInAudience",
)
SERVICE_PRINCIPALS = _entity(
    "servicePrincipals",
    "ServicePrincipal",
    "id appId displayName appDisplayName servicePrincipalType accountEnabled appRoles "
    "oauth2PermissionScopes servicePrincipalNames alternativeNames appOwnerOrganizationId tags "
    "keyCredentials passwordCredentials deletedDateTime",
    "id appId displayName servicePrincipalType accountEnabled servicePrincipalNames",
)
APP_ROLE_ASSIGNMENTS = _entity(
    "appRoleAssignments",
    "AppRoleAssignment",
    "id appRoleId createdDateTime deletedDateTime principalDisplayName principalId principalType "
    "resourceDisplayName resourceId",
    "resourceId principalId appRoleId",
)
FEDERATED_CREDENTIALS = _entity(
    "federatedIdentityCredentials",
    "FederatedIdentityCredential",
    "id name issuer subject audiences description",
    "name subject issuer",
)
# Group members are users in this tenant: they $select like users.
MEMBERS = Entity(
    "directoryObjects",
    "DirectoryObject",
    "Microsoft.DirectoryServices.DirectoryObject",
    USERS.properties,
    frozenset({"id", "displayName", "userPrincipalName"}),
    USERS.defaults,
)


# -- objects ------------------------------------------------------------------
def organization(tenant: m.Tenant) -> Item:
    return {
        "id": tenant.tenant_id,
        "displayName": tenant.display_name,
        "tenantType": "AAD",
        "countryLetterCode": "US",
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": True,
                "isInitial": True,
                "name": tenant.default_domain,
                "type": "Managed",
            }
        ],
    }


def user(u: m.User) -> Item:
    return {
        "id": u.object_id,
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": u.given_name or None,
        "jobTitle": u.job_title,
        "mail": u.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": u.surname or None,
        "userPrincipalName": u.user_principal_name,
        "accountEnabled": u.account_enabled,
        "department": u.department,
        "userType": "Member",
        "mailNickname": u.user_principal_name.split("@")[0],
        "signInSessionsValidFromDateTime": (
            graph_time(u.sign_in_sessions_valid_from) if u.sign_in_sessions_valid_from else None
        ),
    }


def group(g: m.Group) -> Item:
    return {
        "id": g.object_id,
        "displayName": g.display_name,
        "mailNickname": g.mail_nickname,
        "description": g.description,
        "securityEnabled": g.security_enabled,
        "mailEnabled": g.mail_enabled,
        "groupTypes": [],
        "mail": None,
        "createdDateTime": graph_time(g.created),
    }


def key_credential(k: m.KeyCredential, *, include_key: bool) -> Item:
    der = k.certificate.public_bytes(serialization.Encoding.DER) if include_key else b""
    return {
        "customKeyIdentifier": k.thumbprint,
        "displayName": k.display_name,
        "endDateTime": graph_time(k.end),
        # Graph returns the certificate only to a single-object GET that $selects keyCredentials.
        "key": base64.b64encode(der).decode() if include_key else None,
        "keyId": k.key_id,
        "startDateTime": graph_time(k.start),
        "type": k.type,
        "usage": k.usage,
    }


def password_credential(p: m.PasswordCredential, *, secret_text: bool = False) -> Item:
    return {
        "customKeyIdentifier": None,
        "displayName": p.display_name,
        "endDateTime": graph_time(p.end),
        "hint": p.hint,
        "keyId": p.key_id,
        "secretText": p.secret if secret_text else None,  # only in the answer to addPassword
        "startDateTime": graph_time(p.start),
    }


def application(tenant: m.Tenant, a: m.AppRegistration, *, include_key: bool = False) -> Item:
    return {
        "id": a.object_id,
        "appId": a.app_id,
        "displayName": a.display_name,
        "createdDateTime": graph_time(a.created),
        "deletedDateTime": None,
        "description": None,
        "signInAudience": a.sign_in_audience,
        "identifierUris": list(a.identifier_uris),
        "publisherDomain": tenant.default_domain,
        "tags": [],
        "api": {
            "oauth2PermissionScopes": [
                {
                    "id": str(uuid.uuid5(_NS, f"scope:{a.app_id}:{s}")),
                    "value": s,
                    "type": "User",
                    "isEnabled": True,
                }
                for s in a.api_scopes
            ]
        },
        "requiredResourceAccess": [],
        "keyCredentials": [key_credential(k, include_key=include_key) for k in a.key_credentials],
        "passwordCredentials": [password_credential(p) for p in a.password_credentials],
    }


def federated_credential(a: m.AppRegistration, f: m.FederatedCredential) -> Item:
    return {
        "id": str(uuid.uuid5(_NS, f"fic:{a.app_id}:{f.name}")),
        "name": f.name,
        "issuer": f.issuer,
        "subject": f.subject,
        "audiences": list(f.audiences),
        "description": None,
    }


@dataclass(frozen=True)
class ServicePrincipalRef:
    """A service principal of any kind: an app's, a managed identity's, or a first-party API's."""

    object_id: str
    app_id: str
    display_name: str
    kind: str  # "Application" | "ManagedIdentity"
    app_roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    alternative_names: tuple[str, ...] = ()
    owner_tenant: str | None = None


def service_principals(tenant: m.Tenant) -> list[ServicePrincipalRef]:
    refs = [
        ServicePrincipalRef(
            a.sp_object_id,
            a.app_id,
            a.display_name,
            "Application",
            scopes=tuple(a.api_scopes),
            names=(a.app_id, *a.identifier_uris),
            owner_tenant=tenant.tenant_id,
        )
        for a in tenant.apps
    ]
    refs += [
        ServicePrincipalRef(
            mi.object_id,
            mi.client_id,
            mi.name,
            "ManagedIdentity",
            names=(mi.client_id, f"https://identity.azure.net/{mi.object_id}"),
            alternative_names=(f"isExplicit={mi.kind == 'user'}", mi.resource_id),
        )
        for mi in tenant.identities
    ]
    # First-party APIs are owned by Microsoft's tenant.
    refs += [
        ServicePrincipalRef(
            resource_sp_id(r.app_id),
            r.app_id,
            r.display_name,
            "Application",
            app_roles=tuple(r.app_roles),
            scopes=tuple(r.scopes),
            names=(r.app_id, *r.uris),
            owner_tenant="f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        )
        for r in tenant.resources
    ]
    return refs


def service_principal(sp: ServicePrincipalRef) -> Item:
    return {
        "id": sp.object_id,
        "appId": sp.app_id,
        "displayName": sp.display_name,
        "appDisplayName": sp.display_name if sp.kind == "Application" else None,
        "servicePrincipalType": sp.kind,
        "accountEnabled": True,
        "deletedDateTime": None,
        "appOwnerOrganizationId": sp.owner_tenant,
        "servicePrincipalNames": list(sp.names),
        "alternativeNames": list(sp.alternative_names),
        "tags": [],
        "keyCredentials": [],
        "passwordCredentials": [],
        "appRoles": [
            {
                "allowedMemberTypes": ["Application"],
                "displayName": role,
                "description": role,
                "id": app_role_id(sp.app_id, role),
                "isEnabled": True,
                "origin": "Application",
                "value": role,
            }
            for role in sp.app_roles
        ],
        "oauth2PermissionScopes": [
            {
                "id": str(uuid.uuid5(_NS, f"scope:{sp.app_id}:{s}")),
                "value": s,
                "type": "User",
                "isEnabled": True,
            }
            for s in sp.scopes
        ],
    }


def app_role_assignments(tenant: m.Tenant, sp: ServicePrincipalRef) -> list[Item]:
    """The app roles granted to this principal, one assignment per (resource, role)."""
    grants = tenant.app_role_grants.get(sp.object_id, {})
    out: list[Item] = []
    for resource_app_id, roles in sorted(grants.items()):
        resource = tenant.resource(resource_app_id)
        for role in sorted(roles):
            out.append(
                {
                    "id": base64.urlsafe_b64encode(
                        uuid.uuid5(_NS, f"ara:{sp.object_id}:{resource_app_id}:{role}").bytes
                    )
                    .decode()
                    .rstrip("="),
                    "appRoleId": app_role_id(resource_app_id, role),
                    "createdDateTime": None,
                    "deletedDateTime": None,
                    "principalDisplayName": sp.display_name,
                    "principalId": sp.object_id,
                    "principalType": "ServicePrincipal",
                    "resourceDisplayName": resource.display_name if resource else resource_app_id,
                    "resourceId": _resource_object_id(tenant, resource_app_id),
                }
            )
    return out


def _resource_object_id(tenant: m.Tenant, resource_app_id: str) -> str:
    own = tenant.app(resource_app_id)
    return own.sp_object_id if own else resource_sp_id(resource_app_id)
