"""Managed identity token issuance on the shared tenant: selection, resource look-up, claims. No HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from devstack.identity.exceptions import BadRequest, IdentityNotFound, TokenFetchFailed
from devstack.tenant.models import TOKEN_EXCHANGE_AUDIENCE, ManagedIdentity, Tenant
from devstack.tenant.tokens import CLIENT_AUTH_CERTIFICATE

API_VERSION = "2019-08-01"


@dataclass(frozen=True)
class IdentityToken:
    access_token: str
    expires_on: int
    resource: str
    client_id: str


def select_identity(
    tenant: Tenant, *, client_id: str | None, object_id: str | None, mi_res_id: str | None
) -> ManagedIdentity:
    """The system-assigned identity by default, else the one user-assigned identity named."""
    given = [v for v in (client_id, object_id, mi_res_id) if v]
    if len(given) > 1:
        raise BadRequest("Only one of client_id, object_id or mi_res_id may be specified.")
    if given:
        mi = tenant.identity(client_id=client_id, object_id=object_id, resource_id=mi_res_id)
    else:
        mi = tenant.identity(system=True)
    # An identity that exists in the tenant but is not assigned to this app is as unknown as none.
    if mi is None or not mi.assigned:
        raise IdentityNotFound()
    return mi


def issue_token(
    tenant: Tenant,
    *,
    api_version: str | None,
    resource: str | None,
    client_id: str | None = None,
    object_id: str | None = None,
    mi_res_id: str | None = None,
) -> IdentityToken:
    """What the endpoint answers for one request whose identity header was already accepted."""
    if api_version != API_VERSION:
        raise BadRequest(f"The api-version '{api_version or ''}' is not supported; use {API_VERSION}.")
    if not resource:
        raise BadRequest("The 'resource' query parameter is required.")
    mi = select_identity(tenant, client_id=client_id, object_id=object_id, mi_res_id=mi_res_id)
    if resource.rstrip("/") == TOKEN_EXCHANGE_AUDIENCE:
        # The assertion for a federated credential: iss = the tenant's v2.0 issuer, sub = object id.
        token, exp = tenant.issuer.issue(
            mi.principal(), TOKEN_EXCHANGE_AUDIENCE, client_auth=CLIENT_AUTH_CERTIFICATE
        )
        return IdentityToken(token, exp, resource, mi.client_id)
    api = tenant.resource(resource)
    if api is None:
        raise TokenFetchFailed()
    roles = sorted(tenant.roles_for(mi.object_id, api.app_id))
    # Managed identity tokens carry azpacr/appidacr "2", as certificate-authenticated clients do.
    token, exp = tenant.issuer.issue(
        mi.principal(), api.audience, roles=roles, client_auth=CLIENT_AUTH_CERTIFICATE
    )
    return IdentityToken(token, exp, resource, mi.client_id)
