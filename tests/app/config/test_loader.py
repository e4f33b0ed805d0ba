"""Settings: read once, validated, with messages naming the setting and what is expected."""

from __future__ import annotations

import pytest

from shared.config import EnvironmentVariables, Timing, load_settings
from shared.errors import ConfigurationError

TENANT = "434b7530-0ab7-490d-b439-d97439cdf1c4"
APP = "316b4b46-544f-4d74-aec8-701c7e328ddb"
MI = "eae93b2c-b513-4468-a36e-aaf06544a6c2"
VAULT = "https://kv-automation.vault.azure.net"


def _cert(**extra: str) -> dict[str, str]:
    return {
        "CONNECTIONS__GRAPH__CREDENTIAL": "certificate",
        "CONNECTIONS__GRAPH__TENANT_ID": TENANT,
        "CONNECTIONS__GRAPH__CLIENT_ID": APP,
        "CONNECTIONS__GRAPH__CERTIFICATE": "entra-automation-cert",
        "KEY_VAULT_URL": VAULT,
        **extra,
    }


def test_defaults_are_the_public_cloud_and_system_assigned_identity() -> None:
    """An empty environment means AzureCloud, the system-assigned identity, no connections."""
    settings = load_settings({})
    assert settings.cloud.name == "AzureCloud"
    assert settings.managed_identity.type == "system-assigned"
    assert settings.connection_names() == []
    assert settings.timing == Timing()
    assert settings.ca_bundle is None


def test_user_assigned_client_id_is_lower_cased() -> None:
    """AZURE_CLIENT_ID selects a user-assigned identity by client id."""
    settings = load_settings({"AZURE_CLIENT_ID": MI.upper()})
    assert settings.managed_identity.client_id == MI
    assert settings.managed_identity.type == "user-assigned"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
            "resource id",
        ),
        ("{" + MI + "}", "braces"),
        ("id-entra-automation", "not a GUID"),
    ],
)
def test_azure_client_id_must_be_a_client_id_guid(value: str, says: str) -> None:
    """A resource id, braces or a name in AZURE_CLIENT_ID are refused with the reason."""
    with pytest.raises(ConfigurationError) as info:
        load_settings({"AZURE_CLIENT_ID": value})
    assert "AZURE_CLIENT_ID must be the managed identity's client id, a GUID" in str(info.value)
    assert says in str(info.value)


def test_unknown_cloud_lists_the_known_ones() -> None:
    """AZURE_CLOUD accepts only the three cloud names."""
    with pytest.raises(
        ConfigurationError, match="AZURE_CLOUD is 'AzureGermanCloud'; expected one of AzureCloud"
    ):
        load_settings({"AZURE_CLOUD": "AzureGermanCloud"})


def test_cloud_name_is_case_insensitive_and_overrides_apply() -> None:
    """AZURE_CLOUD in any case, and AZURE_AUTHORITY_HOST/GRAPH_URL override its endpoints."""
    settings = load_settings(
        {
            "AZURE_CLOUD": "azurechinacloud",
            "AZURE_AUTHORITY_HOST": "https://127.0.0.1:1",
            "GRAPH_URL": "https://g",
        }
    )
    assert settings.cloud.name == "AzureChinaCloud"
    assert settings.cloud.authority_overridden
    assert settings.cloud.graph_url == "https://g"
    assert settings.cloud.token_exchange_audience == "api://AzureADTokenExchangeChina"


@pytest.mark.parametrize("name", ["KEY_VAULT_URL", "AZURE_AUTHORITY_HOST", "GRAPH_URL", "ARM_URL"])
def test_endpoint_overrides_must_be_https(name: str) -> None:
    """Bearer tokens only travel over TLS, so every endpoint override must be https."""
    with pytest.raises(ConfigurationError, match=f"{name} is 'http://x'; expected an https URL"):
        load_settings({name: "http://x"})


def test_ca_bundle_must_exist(tmp_path: object) -> None:
    """REQUESTS_CA_BUNDLE pointing nowhere is an error, never a reason to skip verification."""
    with pytest.raises(ConfigurationError, match=r"REQUESTS_CA_BUNDLE .* not a readable file"):
        load_settings({"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"})


def test_connection_names_and_fields_are_case_insensitive() -> None:
    """CONNECTIONS__Graph__credential and CONNECTIONS__GRAPH__TENANT_ID describe one connection 'graph'."""
    env = _cert()
    env["CONNECTIONS__Graph__credential"] = env.pop("CONNECTIONS__GRAPH__CREDENTIAL")
    settings = load_settings(env)
    assert settings.connection_names() == ["graph"]
    conn = settings.connection("GRAPH")
    assert conn.credential == "certificate"
    assert conn.key_vault_url == VAULT
    assert conn.managed_identity.type == "system-assigned"


def test_conflicting_spellings_of_one_setting_are_refused() -> None:
    """Two spellings with different values are a conflict (they would be one setting on Windows)."""
    settings = load_settings(_cert(CONNECTIONS__graph__CLIENT_ID=MI))
    with pytest.raises(ConfigurationError, match="both set connection 'graph' CLIENT_ID"):
        settings.connection("graph")


def test_unknown_connection_lists_the_configured_ones() -> None:
    """Asking for an unknown name lists what is configured."""
    with pytest.raises(
        ConfigurationError, match=r"No connection named 'exchange'\. Configured connections: graph"
    ):
        load_settings(_cert()).connection("exchange")


def test_a_bad_connection_does_not_hide_the_good_ones() -> None:
    """One misconfigured connection fails alone, and is still listed."""
    settings = load_settings({**_cert(), "CONNECTIONS__BAD__CREDENTIAL": "password"})
    assert settings.connection_names() == ["bad", "graph"]
    assert settings.connection("graph").credential == "certificate"
    with pytest.raises(
        ConfigurationError, match="CONNECTIONS__BAD__CREDENTIAL is 'password'; expected one of"
    ):
        settings.connection("bad")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"CONNECTIONS__GRAPH__CERTIFICATE": ""},
            "CONNECTIONS__GRAPH__CERTIFICATE is required for credential 'certificate'",
        ),
        (
            {"CONNECTIONS__GRAPH__SECRET": "s"},
            "CONNECTIONS__GRAPH__SECRET is not used by credential 'certificate'",
        ),
        (
            {"CONNECTIONS__GRAPH__CLIENT_ID": "entra-automation"},
            "expected the app registration's client (application) id",
        ),
        ({"CONNECTIONS__GRAPH__TENANT_ID": "common"}, "app-only sign-in needs the tenant's id"),
        ({"CONNECTIONS__GRAPH__SEND_CERTIFICATE_CHAIN": "maybe"}, "expected true or false"),
        (
            {"CONNECTIONS__GRAPH__CERTIFICATE": "https://kv/certificates/x"},
            "expected a Key Vault object name",
        ),
        ({"KEY_VAULT_URL": ""}, "set KEY_VAULT_URL or CONNECTIONS__GRAPH__KEY_VAULT_URL"),
        (
            {"CONNECTIONS__GRAPH__MANAGED_IDENTITY_CLIENT_ID": "/subscriptions/x"},
            "this looks like a resource id",
        ),
    ],
)
def test_connection_errors_name_the_setting(change: dict[str, str], message: str) -> None:
    """Each malformed connection field raises ConfigurationError naming the setting."""
    settings = load_settings(_cert(**change))
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings.connection("graph")


def test_per_connection_identity_and_vault_override_the_defaults() -> None:
    """MANAGED_IDENTITY_CLIENT_ID and KEY_VAULT_URL on a connection win over the global ones."""
    settings = load_settings(
        _cert(
            AZURE_CLIENT_ID=MI,
            CONNECTIONS__GRAPH__MANAGED_IDENTITY_CLIENT_ID=APP,
            CONNECTIONS__GRAPH__KEY_VAULT_URL="https://other.vault.azure.net/",
            CONNECTIONS__GRAPH__SEND_CERTIFICATE_CHAIN="TRUE",
        )
    )
    conn = settings.connection("graph")
    assert conn.managed_identity.client_id == APP
    assert conn.key_vault_url == "https://other.vault.azure.net"
    assert conn.send_certificate_chain


def test_managed_identity_connection_can_pick_system_or_a_user_identity() -> None:
    """`system` picks the system-assigned identity; CLIENT_ID picks a user-assigned one (-AccountId)."""
    settings = load_settings(
        {
            "AZURE_CLIENT_ID": MI,
            "CONNECTIONS__SYS__CREDENTIAL": "managed-identity",
            "CONNECTIONS__SYS__MANAGED_IDENTITY_CLIENT_ID": "system",
            "CONNECTIONS__OTHER__CREDENTIAL": "managed-identity",
            "CONNECTIONS__OTHER__CLIENT_ID": APP,
        }
    )
    assert settings.connection("sys").managed_identity.type == "system-assigned"
    assert settings.connection("other").managed_identity.client_id == APP


def test_identity_endpoint_needs_both_variables() -> None:
    """IDENTITY_ENDPOINT without IDENTITY_HEADER is refused, and the header never shows in a repr."""
    with pytest.raises(ConfigurationError, match="IDENTITY_HEADER is not set"):
        load_settings({"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token"})
    settings = load_settings(
        {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token", "IDENTITY_HEADER": "h3ad3r-s3cret"}
    )
    assert "h3ad3r-s3cret" not in repr(settings)


def test_tuning_settings_are_bounded() -> None:
    """TOKEN_DEADLINE_SECONDS must be a positive number of seconds."""
    assert load_settings({"TOKEN_DEADLINE_SECONDS": "2.5"}).timing.deadline_s == 2.5
    with pytest.raises(ConfigurationError, match="TOKEN_DEADLINE_SECONDS is 'soon'"):
        load_settings({"TOKEN_DEADLINE_SECONDS": "soon"})


def test_every_variable_name_is_a_constant() -> None:
    """The names the app reads live in one class."""
    names = {v for k, v in vars(EnvironmentVariables).items() if k.isupper()}
    assert {"AZURE_CLIENT_ID", "AZURE_CLOUD", "KEY_VAULT_URL", "REQUESTS_CA_BUNDLE", "CONNECTIONS__"} <= names
