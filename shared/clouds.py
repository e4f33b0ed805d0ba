"""The national clouds' endpoints, and the explicit overrides the devstack (or a private cloud) sets.

Names follow Azure (`Get-AzEnvironment`): AzureCloud, AzureChinaCloud, AzureUSGovernment.
Graph PowerShell calls them Global / China / USGov; Exchange O365Default / O365China /
O365USGovGCCHigh.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

AZURE_CLOUD = "AzureCloud"
AZURE_CHINA_CLOUD = "AzureChinaCloud"
AZURE_US_GOVERNMENT = "AzureUSGovernment"


@dataclass(frozen=True)
class Cloud:
    """Where a cloud's services live; `*_overridden` say which came from a setting, not the table."""

    name: str
    authority_host: str
    graph_url: str
    arm_url: str
    key_vault_dns_suffix: str
    exchange_url: str
    token_exchange_audience: str
    authority_overridden: bool = False
    graph_overridden: bool = False
    arm_overridden: bool = False

    @property
    def graph_scope(self) -> str:
        return f"{self.graph_url}/.default"

    def token_endpoint(self, tenant_id: str) -> str:
        return f"{self.authority_host}/{tenant_id}/oauth2/v2.0/token"

    def authority(self, tenant_id: str) -> str:
        return f"{self.authority_host}/{tenant_id}"

    def is_key_vault_host(self, vault_url: str) -> bool:
        """True for a real vault host of any cloud (`*.vault.azure.net`, ...), False for an override."""
        host = (urlsplit(vault_url).hostname or "").lower()
        return any(host.endswith("." + suffix) for suffix in KEY_VAULT_SUFFIXES)


CLOUDS: dict[str, Cloud] = {
    AZURE_CLOUD: Cloud(
        name=AZURE_CLOUD,
        authority_host="https://login.microsoftonline.com",
        graph_url="https://graph.microsoft.com",
        arm_url="https://management.azure.com",
        key_vault_dns_suffix="vault.azure.net",
        exchange_url="https://outlook.office365.com",
        token_exchange_audience="api://AzureADTokenExchange",
    ),
    AZURE_CHINA_CLOUD: Cloud(
        name=AZURE_CHINA_CLOUD,
        authority_host="https://login.chinacloudapi.cn",
        graph_url="https://microsoftgraph.chinacloudapi.cn",
        arm_url="https://management.chinacloudapi.cn",
        key_vault_dns_suffix="vault.azure.cn",
        exchange_url="https://partner.outlook.cn",
        token_exchange_audience="api://AzureADTokenExchangeChina",
    ),
    AZURE_US_GOVERNMENT: Cloud(
        name=AZURE_US_GOVERNMENT,
        authority_host="https://login.microsoftonline.us",
        graph_url="https://graph.microsoft.us",
        arm_url="https://management.usgovcloudapi.net",
        key_vault_dns_suffix="vault.usgovcloudapi.net",
        exchange_url="https://outlook.office365.us",
        token_exchange_audience="api://AzureADTokenExchangeUSGov",
    ),
}

# Vault and managed HSM hosts of every cloud: only these get Key Vault's challenge-resource check.
KEY_VAULT_SUFFIXES = (
    "vault.azure.net",
    "vault.azure.cn",
    "vault.usgovcloudapi.net",
    "managedhsm.azure.net",
    "managedhsm.azure.cn",
    "managedhsm.usgovcloudapi.net",
)

KNOWN_AUTHORITY_HOSTS = frozenset(c.authority_host for c in CLOUDS.values())


def resolve_cloud(
    name: str,
    *,
    authority_host: str | None = None,
    graph_url: str | None = None,
    arm_url: str | None = None,
) -> Cloud:
    """The named cloud with any override applied (URLs without a trailing slash).

    Raises KeyError for an unknown name; `shared.config` turns that into a ConfigurationError.
    """
    cloud = CLOUDS[name]
    changes: dict[str, object] = {}
    if authority_host:
        host = authority_host.rstrip("/")
        changes["authority_host"] = host
        # An override that names a public authority still gets instance discovery.
        changes["authority_overridden"] = host not in KNOWN_AUTHORITY_HOSTS
    if graph_url:
        changes["graph_url"] = graph_url.rstrip("/")
        changes["graph_overridden"] = True
    if arm_url:
        changes["arm_url"] = arm_url.rstrip("/")
        changes["arm_overridden"] = True
    return replace(cloud, **changes) if changes else cloud  # type: ignore[arg-type]


def cloud_names() -> list[str]:
    return list(CLOUDS)
