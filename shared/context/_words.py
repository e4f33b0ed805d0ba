"""The words identity admins know from Graph / Entra / Exchange PowerShell, for our values."""

from __future__ import annotations

from shared.config import CredentialKind
from shared.permissions import ARM, EXCHANGE, GRAPH

# Get-MgContext's TokenCredentialType; ours build a client assertion where PowerShell has no twin.
_TOKEN_CREDENTIAL_TYPES = {
    CredentialKind.CERTIFICATE: "ClientCertificate",
    CredentialKind.CLIENT_SECRET: "ClientSecret",
    CredentialKind.FEDERATED_IDENTITY: "ClientAssertion",
    CredentialKind.KEYVAULT_KEY: "ClientAssertion",
}

# Graph PowerShell's -Environment names for Azure's cloud names.
_ENVIRONMENTS = {"AzureCloud": "Global", "AzureChinaCloud": "China", "AzureUSGovernment": "USGov"}

RESOURCE_NAMES = {
    GRAPH: "Microsoft Graph",
    ARM: "Azure Resource Manager",
    EXCHANGE: "Office 365 Exchange Online",
}


def auth_type(kind: CredentialKind) -> str:
    """Get-MgContext's AuthType: every connection here is unattended (no user)."""
    return "ManagedIdentity" if kind is CredentialKind.MANAGED_IDENTITY else "AppOnly"


def token_credential_type(kind: CredentialKind, managed_identity_type: str) -> str:
    """Get-MgContext's TokenCredentialType (UserManagedIdentity, ClientCertificate, ...)."""
    if kind is CredentialKind.MANAGED_IDENTITY:
        system = managed_identity_type == "system-assigned"
        return "SystemManagedIdentity" if system else "UserManagedIdentity"
    return _TOKEN_CREDENTIAL_TYPES[kind]


def environment(cloud: str | None) -> str | None:
    """Graph PowerShell's Environment (Global, China, USGov) for an Azure cloud name."""
    return _ENVIRONMENTS.get(cloud or "")


def resource_display_name(resource: str) -> str:
    """A person's name for a resource key (`graph` -> Microsoft Graph); URIs stay as they are."""
    return RESOURCE_NAMES.get(resource, resource)
