"""What to fix, for the errors Entra, the identity endpoint and Key Vault send (used by shared/boundary.py).

Hints name ids, settings and portal blades, never a secret. Entra's codes:
https://learn.microsoft.com/entra/identity-platform/reference-error-codes
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.boundary import Context

CA_HINT = (
    "TLS verification failed: if the service uses a private CA, point REQUESTS_CA_BUNDLE at its PEM bundle."
)


def aadsts_hint(code: int | None, ctx: Context) -> str:
    """What to fix after Entra's AADSTS `code`."""
    app, tenant = ctx.client_id or "?", ctx.tenant_id or "?"
    scope_hint = f"Ask for '{ctx.resource or '<resource>'}/.default': app-only tokens take no named scopes."
    hints: dict[int, str] = {
        700027: (
            f"The certificate with thumbprint {ctx.thumbprint or '?'} is not registered on app {app}: "
            "upload it (App registrations > Certificates & secrets) or check rotation "
            "(the Key Vault's current version must be the one registered)."
        ),
        700024: "The client assertion is outside its valid time: check the clock and certificate.",
        7000215: (
            f"Key Vault secret '{ctx.vault_object}' must hold the client secret VALUE (not its id) of app "
            f"{app}, and be current: add the new value as a new version."
        ),
        7000222: f"The client secret of app {app} has expired: create a new one and store it in Key Vault.",
        700016: (
            f"App {app} is not in tenant {tenant}: check {ctx.setting or 'CLIENT_ID'} and TENANT_ID; for a "
            "multitenant app, an admin of that tenant must consent (provision it) first."
        ),
        700213: federation_hint(ctx),
        700211: federation_hint(ctx),
        70021: federation_hint(ctx),
        70011: scope_hint,
        1002012: scope_hint,
        500011: (
            f"The resource '{ctx.resource}' has no service principal in tenant {tenant}: check the URI, or "
            "have an admin consent the API there."
        ),
        90002: f"Tenant '{tenant}' was not found: check the connection's TENANT_ID.",
        7000112: f"App {app} is disabled in tenant {tenant}.",
    }
    if code in hints:
        return hints[code]
    return f"Check the credential registered on app {app} in tenant {tenant}."


def federation_hint(ctx: Context) -> str:
    issuer = f"{ctx.authority_host or 'https://login.microsoftonline.com'}/<identity's tenant id>/v2.0"
    return (
        f"Add a federated credential on app {ctx.client_id or '?'} with issuer {issuer}, subject = the "
        f"managed identity's object (principal) id ({ctx.identity or 'the identity'}), audience "
        f"{ctx.token_exchange_audience or 'api://AzureADTokenExchange'}."
    )


def identity_not_assigned(ctx: Context) -> str:
    """The endpoint knows no such identity: name the setting, the kind of id it holds, the others."""
    if ctx.identity_setting and ctx.identity_id_kind:
        return (
            f"{ctx.identity_setting} holds a {ctx.identity_id_kind}: check that a user-assigned identity "
            f"with that {ctx.identity_id_kind} is assigned to the function app (Identity > User assigned). "
            "Client id, object (principal) id and resource id each have their own setting "
            "(AZURE_CLIENT_ID, AZURE_MANAGED_IDENTITY_OBJECT_ID, AZURE_MANAGED_IDENTITY_RESOURCE_ID, or the "
            "connection's MANAGED_IDENTITY_CLIENT_ID / _OBJECT_ID / _RESOURCE_ID)."
        )
    return "Enable the system-assigned identity on the function app (Identity > System assigned)."


def key_vault_roles(who: str) -> str:
    return (
        f"Grant {who} 'Key Vault Secrets User' (certificates and secrets), 'Key Vault Certificate User' "
        "(certificate metadata) or 'Key Vault Crypto User' (signing keys) on the vault."
    )
