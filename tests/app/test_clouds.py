"""National clouds and overrides."""

from __future__ import annotations

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.clouds import CLOUDS, resolve_cloud
from shared.config import get_settings
from shared.identity import connection, reset_connections
from tests.app_env import call_graph, configure


@pytest.mark.parametrize(
    ("name", "audience", "graph"),
    [
        ("AzureCloud", "api://AzureADTokenExchange", "https://graph.microsoft.com"),
        ("AzureChinaCloud", "api://AzureADTokenExchangeChina", "https://microsoftgraph.chinacloudapi.cn"),
        ("AzureUSGovernment", "api://AzureADTokenExchangeUSGov", "https://graph.microsoft.us"),
    ],
)
def test_each_cloud_has_its_token_exchange_audience_and_graph(name: str, audience: str, graph: str) -> None:
    """Every cloud names its own token-exchange audience and Graph endpoint."""
    cloud = CLOUDS[name]
    assert cloud.token_exchange_audience == audience
    assert cloud.graph_url == graph
    assert not cloud.authority_overridden


def test_override_of_the_authority_turns_off_instance_discovery() -> None:
    """A non-public authority host is an override (msal then skips instance discovery)."""
    cloud = resolve_cloud(
        "AzureCloud", authority_host="https://127.0.0.1:8443/", graph_url="https://127.0.0.1:9/"
    )
    assert cloud.authority_host == "https://127.0.0.1:8443"
    assert cloud.authority_overridden
    assert cloud.graph_url == "https://127.0.0.1:9"
    assert cloud.token_endpoint("t") == "https://127.0.0.1:8443/t/oauth2/v2.0/token"


def test_a_public_authority_given_explicitly_is_not_an_override() -> None:
    """Setting AZURE_AUTHORITY_HOST to the public host keeps instance discovery on."""
    assert not resolve_cloud(
        "AzureCloud", authority_host="https://login.microsoftonline.com"
    ).authority_overridden


@pytest.mark.parametrize(
    ("url", "real"),
    [
        ("https://kv-prod.vault.azure.net", True),
        ("https://kv.vault.azure.cn/", True),
        ("https://kv.vault.usgovcloudapi.net", True),
        ("https://127.0.0.1:8443", False),
        ("https://vault.azure.net.evil.example", False),
    ],
)
def test_real_vault_hosts_are_recognised(url: str, real: bool) -> None:
    """Only real vault hosts keep Key Vault's challenge-resource check."""
    assert CLOUDS["AzureCloud"].is_key_vault_host(url) is real


@pytest.mark.parametrize("name", list(CLOUDS))
def test_overrides_move_requests_not_token_audiences(name: str) -> None:
    """GRAPH_URL / ARM_URL overrides change the URLs only; scopes stay the canonical resources."""
    table = CLOUDS[name]
    cloud = resolve_cloud(
        name,
        authority_host="https://127.0.0.1:8443",
        graph_url="https://127.0.0.1:9443/",
        arm_url="https://127.0.0.1:9444",
    )
    assert (cloud.graph_url, cloud.arm_url) == ("https://127.0.0.1:9443", "https://127.0.0.1:9444")
    assert cloud.graph_scope == table.graph_scope == f"{table.graph_url}/.default"
    for logical, canonical in (
        ("graph", table.graph_url),
        ("arm", table.arm_url),
        ("exchange", table.exchange_url),
        ("keyvault", f"https://{table.key_vault_dns_suffix}"),
    ):
        assert cloud.resource(logical) == canonical
        assert cloud.scope(logical) == f"{canonical}/.default"
    assert "127.0.0.1" not in " ".join(cloud.scope(n) for n in ("graph", "arm", "exchange", "keyvault"))


def test_a_resource_uri_is_its_own_scope() -> None:
    """Any other resource keeps its URI: `api://<app>` becomes `api://<app>/.default`."""
    cloud = CLOUDS["AzureCloud"]
    assert cloud.scope("api://my-app/") == "api://my-app/.default"
    assert cloud.resource("https://example.org") == "https://example.org"


def test_devstack_graph_token_is_for_the_canonical_graph(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With GRAPH_URL overridden (devstack), the scope is real Graph's and the emulator accepts it."""
    configure(monkeypatch, devstack, {"mi": {"CREDENTIAL": "managed-identity"}})
    try:
        cloud = get_settings().cloud
        assert cloud.graph_overridden
        assert cloud.graph_url == devstack.state()["graphUrl"]
        assert cloud.graph_scope == "https://graph.microsoft.com/.default"
        info = connection("mi").token("graph")
        assert info.claims["aud"] == "https://graph.microsoft.com"
        assert call_graph(devstack, info.value).status_code == 200
    finally:
        reset_connections()
