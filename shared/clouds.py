"""The national clouds' endpoints, and the explicit overrides the devstack (or a private cloud) sets.

Names follow Azure (`Get-AzEnvironment`): AzureCloud, AzureChinaCloud, AzureUSGovernment.
Graph PowerShell calls them Global / China / USGov; Exchange O365Default / O365China /
O365USGovGCCHigh.

Two kinds of values, kept apart: URLs say where requests GO (`graph_url`, `arm_url`; the
devstack or a private cloud overrides them), resources say what a token is FOR (its audience;
`graph_resource`, `arm_resource`, `exchange_resource`, `key_vault_resource`). An override moves
requests and never changes a token's scope: the devstack's Graph at `https://127.0.0.1:PORT`
still accepts tokens for `https://graph.microsoft.com`, as real Graph does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

AZURE_CLOUD = "AzureCloud"
AZURE_CHINA_CLOUD = "AzureChinaCloud"
AZURE_US_GOVERNMENT = "AzureUSGovernment"

# Logical names of the APIs whose URIs differ by cloud (shared.permissions uses the same names).
GRAPH = "graph"
ARM = "arm"
EXCHANGE = "exchange"
KEY_VAULT = "keyvault"
STORAGE = "storage"
# Every logical resource name `Connection.token()` takes.
LOGICAL_RESOURCES = (GRAPH, ARM, EXCHANGE, KEY_VAULT, STORAGE)


@dataclass(frozen=True)
class Cloud:
    """Where a cloud's services live; `*_overridden` say which came from a setting, not the table.

    `*_url` may be overridden (where requests go); `*_resource` never is (what tokens are for).
    """

    name: str
    authority_host: str
    graph_url: str
    arm_url: str
    key_vault_dns_suffix: str
    exchange_url: str
    token_exchange_audience: str
    graph_resource: str
    arm_resource: str
    exchange_resource: str
    key_vault_resource: str
    storage_resource: str = "https://storage.azure.com"
    authority_overridden: bool = False
    graph_overridden: bool = False
    arm_overridden: bool = False

    @property
    def graph_scope(self) -> str:
        """The `.default` scope of this cloud's Graph: its canonical resource, whatever GRAPH_URL says."""
        return f"{self.graph_resource}/.default"

    def resource(self, logical_or_uri: str) -> str:
        """The token resource of `graph`, `arm`, `exchange`, `keyvault` or `storage` here; a URI unchanged."""
        known = {
            GRAPH: self.graph_resource,
            ARM: self.arm_resource,
            EXCHANGE: self.exchange_resource,
            KEY_VAULT: self.key_vault_resource,
            # Azure Storage takes this audience in every cloud:
            # https://learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory
            STORAGE: self.storage_resource,
        }
        return known.get(logical_or_uri, logical_or_uri)

    def scope(self, logical_or_uri: str) -> str:
        """`<resource>/.default` for a logical name (`graph`, ...) or a resource URI."""
        return f"{self.resource(logical_or_uri).rstrip('/')}/.default"

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
        graph_resource="https://graph.microsoft.com",
        arm_resource="https://management.azure.com",
        exchange_resource="https://outlook.office365.com",
        key_vault_resource="https://vault.azure.net",
    ),
    AZURE_CHINA_CLOUD: Cloud(
        name=AZURE_CHINA_CLOUD,
        authority_host="https://login.chinacloudapi.cn",
        graph_url="https://microsoftgraph.chinacloudapi.cn",
        arm_url="https://management.chinacloudapi.cn",
        key_vault_dns_suffix="vault.azure.cn",
        exchange_url="https://partner.outlook.cn",
        token_exchange_audience="api://AzureADTokenExchangeChina",
        graph_resource="https://microsoftgraph.chinacloudapi.cn",
        arm_resource="https://management.chinacloudapi.cn",
        exchange_resource="https://partner.outlook.cn",
        key_vault_resource="https://vault.azure.cn",
    ),
    AZURE_US_GOVERNMENT: Cloud(
        name=AZURE_US_GOVERNMENT,
        authority_host="https://login.microsoftonline.us",
        graph_url="https://graph.microsoft.us",
        arm_url="https://management.usgovcloudapi.net",
        key_vault_dns_suffix="vault.usgovcloudapi.net",
        exchange_url="https://outlook.office365.us",
        token_exchange_audience="api://AzureADTokenExchangeUSGov",
        graph_resource="https://graph.microsoft.us",
        arm_resource="https://management.usgovcloudapi.net",
        exchange_resource="https://outlook.office365.us",
        key_vault_resource="https://vault.usgovcloudapi.net",
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

    Overrides change where requests go (`*_url`), never the `*_resource` tokens are asked for.

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
