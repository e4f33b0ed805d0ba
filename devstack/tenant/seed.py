"""Builds the offline tenant from `seed.json`: identities, apps, credentials, grants, vault, directory."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from pathlib import Path
from typing import Any

from devstack.tenant import models as m
from devstack.tenant.pki import CertificateAuthority
from devstack.tenant.tokens import TokenIssuer

SEED_FILE = Path(__file__).with_name("seed.json")

GRAPH_ROLES = [
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.Create",
    "Application.ReadWrite.OwnedBy",
    "Directory.ReadWrite.All",
    "User.RevokeSessions.All",
    "Organization.Read.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "AuditLog.Read.All",
    "Mail.Send",
    "Sites.Selected",
]
GRAPH_SCOPES = [
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "Group.Read.All",
    "Directory.Read.All",
    "Application.Read.All",
    "Application.ReadWrite.All",
]


def first_party_resources() -> list[m.ResourceApp]:
    return [
        # Its service principal is what rich change notifications' validation tokens name.
        m.ResourceApp(
            m.CHANGE_TRACKING_APP_ID, "Microsoft Graph Change Tracking", [m.CHANGE_TRACKING_APP_ID]
        ),
        m.ResourceApp(
            m.GRAPH_APP_ID,
            "Microsoft Graph",
            ["https://graph.microsoft.com", m.GRAPH_APP_ID],
            GRAPH_ROLES,
            GRAPH_SCOPES,
        ),
        m.ResourceApp(
            m.KEY_VAULT_APP_ID, "Azure Key Vault", ["https://vault.azure.net"], [], ["user_impersonation"]
        ),
        m.ResourceApp(
            m.EXCHANGE_APP_ID,
            "Office 365 Exchange Online",
            ["https://outlook.office365.com", "https://outlook.office.com"],
            ["Exchange.ManageAsApp", "full_access_as_app"],
            ["Exchange.Manage"],
        ),
        m.ResourceApp(
            m.ARM_APP_ID,
            "Windows Azure Service Management API",
            ["https://management.azure.com", "https://management.core.windows.net"],
            [],
            ["user_impersonation"],
        ),
        m.ResourceApp(
            m.STORAGE_APP_ID, "Azure Storage", ["https://storage.azure.com"], [], ["user_impersonation"]
        ),
    ]


def load_seed(path: Path = SEED_FILE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def build_tenant(
    authority_host: str, seed: dict[str, Any] | None = None, ca: CertificateAuthority | None = None
) -> m.Tenant:
    """A tenant whose tokens are issued by `authority_host` (https://127.0.0.1:PORT, no trailing slash)."""
    seed = seed or load_seed()
    t = seed["tenant"]
    authority_host = authority_host.rstrip("/")
    issuer = TokenIssuer(t["id"], f"{authority_host}/{t['id']}/v2.0")
    tenant = m.Tenant(
        tenant_id=t["id"],
        display_name=t["displayName"],
        default_domain=t["domain"],
        authority_host=authority_host,
        ca=ca or CertificateAuthority(),
        issuer=issuer,
        resources=first_party_resources(),
    )
    rg = f"/subscriptions/{seed['subscriptionId']}/resourceGroups/{seed['resourceGroup']}/providers"
    fa = seed["functionApp"]
    tenant.function_app_name = fa["name"]
    tenant.identities.append(
        m.ManagedIdentity(
            name=fa["name"],
            kind="system",
            client_id=fa["systemAssigned"]["clientId"],
            object_id=fa["systemAssigned"]["objectId"],
            resource_id=f"{rg}/Microsoft.Web/sites/{fa['name']}",
            assigned=True,
        )
    )
    for mi in seed["managedIdentities"]:
        tenant.identities.append(
            m.ManagedIdentity(
                name=mi["name"],
                kind="user",
                client_id=mi["clientId"],
                object_id=mi["objectId"],
                resource_id=f"{rg}/Microsoft.ManagedIdentity/userAssignedIdentities/{mi['name']}",
                assigned=mi["name"] in fa["userAssigned"],
            )
        )
    for spec in seed["applications"]:
        _add_app(tenant, spec)
    _add_directory(tenant, seed["directory"])
    _add_grants(tenant, seed)
    for s in seed["keyVault"].get("secrets", []):
        raw = secrets.token_bytes(32)
        value = "whsec_" + base64.b64encode(raw).decode() if s.get("format") == "whsec" else raw.hex()
        tenant.vault.set_secret(s["name"], value, "text/plain")
    return tenant


def _principal_object_id(tenant: m.Tenant, name: str) -> str:
    for mi in tenant.identities:
        if mi.name == name:
            return mi.object_id
    app = tenant.app_by_name(name)
    if app is not None:
        return app.sp_object_id
    user = tenant.user(f"{name}@{tenant.default_domain}")
    if user is None:
        raise ValueError(f"seed names an unknown principal: {name}")
    return user.object_id


def _resource_app_id(tenant: m.Tenant, name: str) -> str:
    """A first-party API by display name, or one of the tenant's own app registrations."""
    found = next((r for r in tenant.resources if r.display_name == name), None)
    if found is not None:
        return found.app_id
    app = tenant.app_by_name(name)
    if app is None:
        raise ValueError(f"seed names an unknown resource: {name}")
    return app.app_id


def _add_app(tenant: m.Tenant, spec: dict[str, Any]) -> None:
    app = m.AppRegistration(
        app_id=spec["appId"],
        object_id=spec["objectId"],
        sp_object_id=spec["servicePrincipalId"],
        display_name=spec["displayName"],
        identifier_uris=spec.get("identifierUris", []),
        api_scopes=spec.get("apiScopes", []),
        app_roles=spec.get("appRoles", []),
        access_token_version=spec.get("accessTokenAcceptedVersion"),
        public_client=bool(spec.get("isFallbackPublicClient", False)),
    )
    tenant.apps.append(app)
    for c in spec.get("certificates", []):
        issued = tenant.ca.issue(c["subject"].removeprefix("CN="))
        tenant.vault.import_certificate(
            c["keyVaultCertificate"], issued, content_type=c["contentType"], exportable=c["exportable"]
        )
        tenant.add_certificate_credential(app, issued.certificate, display_name=c["subject"])
    for s in spec.get("secrets", []):
        cred = tenant.add_password_credential(app, s["displayName"])
        tenant.vault.set_secret(s["keyVaultSecret"], cred.secret)
    for f in spec.get("federatedCredentials", []):
        mi = next(i for i in tenant.identities if i.name == f["managedIdentity"])
        app.federated_credentials.append(
            m.FederatedCredential(
                name=f["name"],
                issuer=tenant.issuer_url,
                subject=mi.object_id,
                audiences=f["audiences"],
            )
        )
    for ts in spec.get("trustedCertificateSubjects", []):
        app.trusted_subjects.append(
            m.TrustedSubject(
                subject_name=ts["subjectName"],
                issuer_name=tenant.ca.certificate.subject.rfc4514_string(),
            )
        )


def _add_directory(tenant: m.Tenant, directory: dict[str, Any]) -> None:
    domain = tenant.default_domain
    for u in directory["users"]:
        upn = f"{u['userPrincipalName']}@{domain}"
        tenant.users.append(
            m.User(
                object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, upn)),
                user_principal_name=upn,
                display_name=u["displayName"],
                given_name=u.get("givenName", ""),
                surname=u.get("surname", ""),
                job_title=u.get("jobTitle"),
                department=u.get("department"),
                account_enabled=u.get("accountEnabled", True),
                mail=upn,
            )
        )
    for i in range(1, directory.get("generatedUsers", 0) + 1):
        upn = f"user{i:03d}@{domain}"
        tenant.users.append(
            m.User(
                object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, upn)),
                user_principal_name=upn,
                display_name=f"Test User {i:03d}",
                given_name="Test",
                surname=f"User {i:03d}",
                department=("Sales", "Engineering", "Finance")[i % 3],
                mail=upn,
            )
        )
    for g in directory["groups"]:
        members = [tenant.user(f"{n}@{domain}") for n in g.get("members", [])]
        tenant.groups.append(
            m.Group(
                object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"group:{g['mailNickname']}")),
                display_name=g["displayName"],
                mail_nickname=g["mailNickname"],
                members=[u.object_id for u in members if u],
            )
        )


def _add_grants(tenant: m.Tenant, seed: dict[str, Any]) -> None:
    for a in seed["appRoleAssignments"]:
        tenant.grant_roles(
            _principal_object_id(tenant, a["principal"]),
            _resource_app_id(tenant, a["resource"]),
            set(a["roles"]),
        )
    for g in seed["delegatedGrants"]:
        client = tenant.app_by_name(g["client"])
        assert client is not None, g
        tenant.delegated_grants.setdefault(client.app_id, {}).setdefault(
            _resource_app_id(tenant, g["resource"]), set()
        ).update(g["scopes"])
    for spec in seed["applications"]:
        app = tenant.app(spec["appId"])
        assert app is not None, spec
        app.owners = [_principal_object_id(tenant, o) for o in spec.get("owners", [])]
    for ra in seed["keyVault"]["roleAssignments"]:
        tenant.vault_roles.setdefault(_principal_object_id(tenant, ra["principal"]), set()).update(
            ra["roles"]
        )
