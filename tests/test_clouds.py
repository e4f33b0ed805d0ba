"""National clouds and overrides."""

from __future__ import annotations

import pytest

from shared.clouds import CLOUDS, resolve_cloud


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
