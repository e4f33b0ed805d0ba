"""Every ConfigurationError in shared/config with its exact text, and the edges of each validator
(what is accepted just inside a bound, refused just outside it)."""

from __future__ import annotations

import dataclasses

import pytest

from shared.config import ConnectionSettings, CredentialKind, load_settings
from shared.errors import ConfigurationError

TENANT = "434b7530-0ab7-490d-b439-d97439cdf1c4"
APP = "316b4b46-544f-4d74-aec8-701c7e328ddb"
MI = "eae93b2c-b513-4468-a36e-aaf06544a6c2"
VAULT = "https://kv-automation.vault.azure.net"
KINDS = "managed-identity, certificate, client-secret, federated-identity, keyvault-key"
RESOURCE_ID = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a"
)
C = "CONNECTIONS__GRAPH__"


def _cert(**extra: str) -> dict[str, str]:
    return {
        f"{C}CREDENTIAL": "certificate",
        f"{C}TENANT_ID": TENANT,
        f"{C}CLIENT_ID": APP,
        f"{C}CERTIFICATE": "entra-automation-cert",
        "KEY_VAULT_URL": VAULT,
        **extra,
    }


def _global_error(env: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env)
    return info.value.message


def _connection_error(env: dict[str, str], name: str = "graph") -> str:
    settings = load_settings(env)
    with pytest.raises(ConfigurationError) as info:
        settings.connection(name)
    return info.value.message


GLOBAL = [
    (
        {"AZURE_CLOUD": "Mars"},
        "AZURE_CLOUD is 'Mars'; expected one of AzureCloud, AzureChinaCloud, AzureUSGovernment "
        "(default AzureCloud).",
    ),
    (
        {"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"},
        "REQUESTS_CA_BUNDLE is '/nonexistent/ca.pem', which is not a readable file; point it at a PEM CA "
        "bundle or unset it (TLS verification is never turned off).",
    ),
    (
        {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token"},
        "IDENTITY_HEADER is not set while its partner is; both come from App Service when a managed "
        "identity is enabled: do not set them by hand.",
    ),
    (
        {"IDENTITY_HEADER": "h"},
        "IDENTITY_ENDPOINT is not set while its partner is; both come from App Service when a managed "
        "identity is enabled: do not set them by hand.",
    ),
    (
        {"IDENTITY_ENDPOINT": "ftp://x/token", "IDENTITY_HEADER": "h"},
        "IDENTITY_ENDPOINT must be an http(s) URL.",
    ),
    (
        {"KEY_VAULT_URL": "http://kv"},
        "KEY_VAULT_URL is 'http://kv'; expected an https URL such as https://host[:port] (bearer tokens are "
        "only sent over TLS).",
    ),
    (
        {"GRAPH_URL": "https://"},
        "GRAPH_URL is 'https://'; expected an https URL such as https://host[:port] (bearer tokens are "
        "only sent over TLS).",
    ),
    (
        {"AZURE_CLIENT_ID": MI, "AZURE_MANAGED_IDENTITY_OBJECT_ID": MI},
        "AZURE_CLIENT_ID and AZURE_MANAGED_IDENTITY_OBJECT_ID both name a managed identity; set only one.",
    ),
    (
        {"AZURE_MANAGED_IDENTITY_RESOURCE_ID": MI},
        "AZURE_MANAGED_IDENTITY_RESOURCE_ID must be the user-assigned identity's resource id, "
        "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/<name> (Azure portal: Managed Identities > Properties > Resource ID); this "
        "is a GUID: a client id goes in AZURE_CLIENT_ID, an object (principal) id in "
        "AZURE_MANAGED_IDENTITY_OBJECT_ID.",
    ),
    (
        {"AZURE_MANAGED_IDENTITY_RESOURCE_ID": "id-a"},
        "AZURE_MANAGED_IDENTITY_RESOURCE_ID must be the user-assigned identity's resource id, "
        "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/<name> (Azure portal: Managed Identities > Properties > Resource ID); this "
        "is not a resource id.",
    ),
    (
        {"AZURE_CLIENT_ID": "api://entra-automation"},
        "AZURE_CLIENT_ID must be the managed identity's client id, a GUID (Azure portal: Managed "
        "Identities > "
        "Overview > Client ID; its object (principal) id goes in AZURE_MANAGED_IDENTITY_OBJECT_ID); this "
        "looks like an application id URI.",
    ),
    (
        {"AZURE_MANAGED_IDENTITY_OBJECT_ID": RESOURCE_ID},
        "AZURE_MANAGED_IDENTITY_OBJECT_ID must be the managed identity's object (principal) id, a GUID "
        "(Azure portal: Managed Identities > Overview > Object (principal) ID; its client id goes in "
        "AZURE_CLIENT_ID); this looks like a resource id: set AZURE_MANAGED_IDENTITY_RESOURCE_ID instead.",
    ),
    (
        {"AZURE_MANAGED_IDENTITY_OBJECT_ID": "{" + MI + "}"},
        "AZURE_MANAGED_IDENTITY_OBJECT_ID must be the managed identity's object (principal) id, a GUID "
        "(Azure portal: Managed Identities > Overview > Object (principal) ID; its client id goes in "
        "AZURE_CLIENT_ID); remove the braces.",
    ),
    (
        {"AZURE_CLIENT_ID": "id-entra-automation"},
        "AZURE_CLIENT_ID must be the managed identity's client id, a GUID (Azure portal: Managed "
        "Identities > "
        "Overview > Client ID; its object (principal) id goes in AZURE_MANAGED_IDENTITY_OBJECT_ID); this "
        "is not a GUID.",
    ),
]


@pytest.mark.parametrize(("env", "message"), GLOBAL)
def test_global_setting_errors(env: dict[str, str], message: str) -> None:
    """A bad global setting fails the whole load with a message naming it and what is expected."""
    assert _global_error(env) == message


@pytest.mark.parametrize(
    "name", ["TOKEN_DEADLINE_SECONDS", "RETRY_AFTER_CAP_SECONDS", "KEY_VAULT_REFRESH_SECONDS"]
)
@pytest.mark.parametrize("value", ["0", "-1", "3600.5", "soon", "nan"])
def test_tuning_seconds_outside_0_to_3600_are_refused(name: str, value: str) -> None:
    """Each tuning setting takes seconds in (0, 3600]; anything else is refused naming it."""
    assert (
        _global_error({name: value})
        == f"{name} is '{value}'; expected a number of seconds between 0 and 3600."
    )


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("TOKEN_DEADLINE_SECONDS", "deadline_s"),
        ("RETRY_AFTER_CAP_SECONDS", "retry_after_cap_s"),
        ("KEY_VAULT_REFRESH_SECONDS", "refresh_interval_s"),
    ],
)
@pytest.mark.parametrize("value", ["3600", "0.001", " 12 "])
def test_tuning_seconds_inside_the_bounds_are_used(name: str, field: str, value: str) -> None:
    """3600 and small positive values are accepted, surrounding spaces ignored, each in its own field."""
    assert getattr(load_settings({name: value}).timing, field) == float(value)


def test_timing_defaults() -> None:
    """Without tuning settings: 30 s deadline, 10 s Retry-After cap, 600 s Key Vault refresh."""
    timing = load_settings({}).timing
    assert (timing.deadline_s, timing.retry_after_cap_s, timing.refresh_interval_s) == (30.0, 10.0, 600.0)
    assert (timing.connect_timeout_s, timing.read_timeout_s, timing.token_refresh_margin_s) == (
        5.0,
        15.0,
        300.0,
    )


def test_blank_settings_are_unset() -> None:
    """A setting of only spaces counts as unset (App Service keeps emptied settings)."""
    settings = load_settings({"AZURE_CLOUD": "  ", "KEY_VAULT_URL": " ", "AZURE_CLIENT_ID": ""})
    assert (settings.cloud.name, settings.key_vault_url, settings.managed_identity.type) == (
        "AzureCloud",
        None,
        "system-assigned",
    )


def test_urls_lose_a_trailing_slash_and_an_identity_endpoint_may_be_http() -> None:
    """Overrides are kept without the trailing slash; the identity endpoint is App Service's own http URL."""
    settings = load_settings(
        {
            "KEY_VAULT_URL": VAULT + "/",
            "IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token",
            "IDENTITY_HEADER": "h",
        }
    )
    assert settings.key_vault_url == VAULT
    assert settings.identity_endpoint is not None
    assert (settings.identity_endpoint.url, settings.identity_endpoint.header) == (
        "http://127.0.0.1:1/msi/token",
        "h",
    )
    https = load_settings({"IDENTITY_ENDPOINT": "https://x/token", "IDENTITY_HEADER": "h"})
    assert https.identity_endpoint is not None


def test_app_identity_by_object_or_resource_id() -> None:
    """AZURE_MANAGED_IDENTITY_OBJECT_ID / _RESOURCE_ID select a user-assigned identity by that id."""
    by_object = load_settings({"AZURE_MANAGED_IDENTITY_OBJECT_ID": MI.upper()}).managed_identity
    assert (by_object.type, by_object.query(), by_object.client_id) == (
        "user-assigned",
        {"object_id": MI},
        None,
    )
    by_resource = load_settings({"AZURE_MANAGED_IDENTITY_RESOURCE_ID": RESOURCE_ID}).managed_identity
    assert by_resource.query() == {"mi_res_id": RESOURCE_ID}
    assert by_resource.describe() == f"user-assigned identity (resource id {RESOURCE_ID})"
    assert load_settings({"AZURE_CLIENT_ID": "system"}).managed_identity.type == "system-assigned"


CONNECTION = [
    (
        {f"{C}CREDENTIAL": "password"},
        f"CONNECTIONS__GRAPH__CREDENTIAL is 'password'; expected one of {KINDS}.",
    ),
    (
        {f"{C}CREDENTIAL": ""},
        f"CONNECTIONS__GRAPH__CREDENTIAL is not set; expected one of {KINDS}.",
    ),
    (
        {f"{C}TENANT_ID": "organizations"},
        "CONNECTIONS__GRAPH__TENANT_ID is 'organizations'; app-only sign-in needs the tenant's id (a GUID) "
        "or its domain (contoso.onmicrosoft.com).",
    ),
    (
        {f"{C}TENANT_ID": "consumers"},
        "CONNECTIONS__GRAPH__TENANT_ID is 'consumers'; app-only sign-in needs the tenant's id (a GUID) "
        "or its domain (contoso.onmicrosoft.com).",
    ),
    (
        {f"{C}TENANT_ID": "contoso"},
        "CONNECTIONS__GRAPH__TENANT_ID is 'contoso'; expected the tenant id (a GUID) or a verified domain.",
    ),
    (
        {f"{C}CLIENT_ID": "entra-automation"},
        "CONNECTIONS__GRAPH__CLIENT_ID is 'entra-automation'; expected the app registration's client "
        "(application) id, a GUID.",
    ),
    (
        {f"{C}SEND_CERTIFICATE_CHAIN": "maybe"},
        "CONNECTIONS__GRAPH__SEND_CERTIFICATE_CHAIN is 'maybe'; expected true or false.",
    ),
    (
        {f"{C}CERTIFICATE": "https://kv/certificates/x"},
        "CONNECTIONS__GRAPH__CERTIFICATE is 'https://kv/certificates/x'; expected a Key Vault object name "
        "(letters, digits and '-'), not a URL or a thumbprint.",
    ),
    (
        {f"{C}SECRET": "s"},
        "CONNECTIONS__GRAPH__SECRET is not used by credential 'certificate'; it takes CERTIFICATE, "
        "CLIENT_ID, "
        "KEY_VAULT_URL, MANAGED_IDENTITY_CLIENT_ID, MANAGED_IDENTITY_OBJECT_ID, "
        "MANAGED_IDENTITY_RESOURCE_ID, "
        "SEND_CERTIFICATE_CHAIN, TENANT_ID.",
    ),
    (
        {f"{C}CERTIFICATE": " "},
        "CONNECTIONS__GRAPH__CERTIFICATE is required for credential 'certificate'.",
    ),
    (
        {"KEY_VAULT_URL": ""},
        "Credential 'certificate' of connection 'graph' reads Key Vault: set KEY_VAULT_URL or "
        "CONNECTIONS__GRAPH__KEY_VAULT_URL (https://<vault>.vault.azure.net).",
    ),
    (
        {f"{C}KEY_VAULT_URL": "http://kv"},
        "CONNECTIONS__GRAPH__KEY_VAULT_URL is 'http://kv'; expected an https URL such as https://host[:port] "
        "(bearer tokens are only sent over TLS).",
    ),
    (
        {f"{C}MANAGED_IDENTITY_CLIENT_ID": MI, f"{C}MANAGED_IDENTITY_RESOURCE_ID": RESOURCE_ID},
        "CONNECTIONS__GRAPH__MANAGED_IDENTITY_CLIENT_ID and CONNECTIONS__GRAPH__MANAGED_IDENTITY_RESOURCE_ID "
        "both name a managed identity; set only one.",
    ),
    (
        {f"{C}MANAGED_IDENTITY_RESOURCE_ID": MI},
        "CONNECTIONS__GRAPH__MANAGED_IDENTITY_RESOURCE_ID must be the user-assigned identity's resource id, "
        "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/<name> (Azure portal: Managed Identities > Properties > Resource ID); this "
        "is a GUID: a client id goes in CONNECTIONS__GRAPH__MANAGED_IDENTITY_CLIENT_ID, an object "
        "(principal) "
        "id in CONNECTIONS__GRAPH__MANAGED_IDENTITY_OBJECT_ID.",
    ),
    (
        {f"{C}MANAGED_IDENTITY_CLIENT_ID": "nope"},
        "CONNECTIONS__GRAPH__MANAGED_IDENTITY_CLIENT_ID must be the managed identity's client id, a GUID "
        "(Azure portal: Managed Identities > Overview > Client ID; its object (principal) id goes in "
        "CONNECTIONS__GRAPH__MANAGED_IDENTITY_OBJECT_ID); this is not a GUID.",
    ),
    (
        {"CONNECTIONS__GRAPH": "x"},
        "CONNECTIONS__GRAPH is not a connection setting; expected CONNECTIONS__<NAME>__<FIELD> with NAME of "
        "letters, digits, '-' or '_'.",
    ),
    (
        {"CONNECTIONS__GRAPH__A__B": "x"},
        "CONNECTIONS__GRAPH__A__B is not a connection setting; expected CONNECTIONS__<NAME>__<FIELD> "
        "with NAME "
        "of letters, digits, '-' or '_'.",
    ),
    (
        {"connections__graph__client_id": MI},
        "CONNECTIONS__GRAPH__CLIENT_ID and connections__graph__client_id both set connection 'graph' "
        "CLIENT_ID "
        "with different values; keep one (setting names are case-insensitive on Windows).",
    ),
]


@pytest.mark.parametrize(("change", "message"), CONNECTION)
def test_connection_errors(change: dict[str, str], message: str) -> None:
    """Each bad connection field is raised, with its exact text, when that connection is asked for."""
    assert _connection_error(_cert(**change)) == message


def test_a_name_that_is_not_a_name_is_listed() -> None:
    """A connection name that is not a name is listed as configured-but-broken, not dropped: by its
    lower-cased name, or by the whole setting when the name is empty; asking for it raises why."""
    assert load_settings({"CONNECTIONS__.bad__CREDENTIAL": "certificate"}).connection_names() == [".bad"]
    assert _connection_error({"CONNECTIONS__.bad__CREDENTIAL": "certificate"}, ".bad").startswith(
        "CONNECTIONS__.bad__CREDENTIAL is not a connection setting;"
    )
    empty = {"CONNECTIONS____CREDENTIAL": "x"}
    assert load_settings(empty).connection_names() == ["connections____credential"]
    assert _connection_error(empty, "connections____credential").startswith(
        "CONNECTIONS____CREDENTIAL is not a connection setting;"
    )


def test_the_same_value_in_two_spellings_is_one_setting() -> None:
    """Two spellings with the same value (spaces aside) are not a conflict."""
    assert load_settings(_cert(connections__graph__client_id=f" {APP} ")).connection("graph").client_id == APP


def test_unknown_connection_exact_text() -> None:
    """An unknown name lists the configured ones and says how to add it; with none, says none."""
    assert _connection_error(_cert(), "Exchange") == (
        "No connection named 'exchange'. Configured connections: graph. Add "
        "CONNECTIONS__EXCHANGE__CREDENTIAL "
        f"(one of {KINDS}) to define it."
    )
    assert "Configured connections: none." in _connection_error({}, "x")


def test_managed_identity_connection_with_two_different_identities() -> None:
    """A managed-identity connection whose CLIENT_ID and identity setting disagree is refused."""
    env = {
        f"{C}CREDENTIAL": "managed-identity",
        f"{C}CLIENT_ID": APP,
        f"{C}MANAGED_IDENTITY_CLIENT_ID": MI,
    }
    assert _connection_error(env) == (
        "CONNECTIONS__GRAPH__CLIENT_ID and CONNECTIONS__GRAPH__MANAGED_IDENTITY_CLIENT_ID name different "
        "identities; set one."
    )
    same = load_settings({**env, f"{C}MANAGED_IDENTITY_CLIENT_ID": APP.upper()}).connection("graph")
    assert same.managed_identity.client_id == APP


def test_managed_identity_connection_with_a_bad_client_id_names_the_identity() -> None:
    """For a managed-identity connection, CLIENT_ID is the identity's client id."""
    env = {f"{C}CREDENTIAL": "managed-identity", f"{C}CLIENT_ID": "x"}
    assert _connection_error(env) == (
        "CONNECTIONS__GRAPH__CLIENT_ID is 'x'; expected the managed identity's client (application) "
        "id, a GUID."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("yes", True), ("True", True), ("0", False), ("no", False), ("FALSE", False)],
)
def test_send_certificate_chain_words(value: str, expected: bool) -> None:
    """SEND_CERTIFICATE_CHAIN takes true/1/yes and false/0/no in any case; unset is false."""
    assert (
        load_settings(_cert(CONNECTIONS__GRAPH__SEND_CERTIFICATE_CHAIN=value))
        .connection("graph")
        .send_certificate_chain
        is expected
    )
    assert load_settings(_cert()).connection("graph").send_certificate_chain is False


def test_tenant_domain_and_ids_are_lower_cased() -> None:
    """A verified domain is a tenant; tenant and client ids are kept lower-cased."""
    conn = load_settings(
        _cert(
            CONNECTIONS__GRAPH__TENANT_ID="Contoso.OnMicrosoft.com", CONNECTIONS__GRAPH__CLIENT_ID=APP.upper()
        )
    ).connection("graph")
    assert (conn.tenant_id, conn.client_id) == ("contoso.onmicrosoft.com", APP)


@pytest.mark.parametrize(
    ("kind", "field", "object_field"),
    [
        ("certificate", "CERTIFICATE", "certificate"),
        ("client-secret", "SECRET", "secret"),
        ("keyvault-key", "KEY", "key"),
    ],
)
def test_each_key_vault_kind_keeps_its_object_and_vault(kind: str, field: str, object_field: str) -> None:
    """Each Key Vault kind keeps its own object and the vault; the setting naming the object is known."""
    env = {
        f"{C}CREDENTIAL": kind,
        f"{C}TENANT_ID": TENANT,
        f"{C}CLIENT_ID": APP,
        f"{C}{field}": "obj-1",
        "KEY_VAULT_URL": VAULT,
    }
    conn = load_settings(env).connection("graph")
    assert getattr(conn, object_field) == "obj-1"
    assert conn.key_vault_url == VAULT
    assert conn.object_setting == f"{C}{field}"
    assert conn.credential.reads_key_vault


@pytest.mark.parametrize("kind", ["managed-identity", "federated-identity"])
def test_kinds_without_key_vault_need_no_vault(kind: str) -> None:
    """managed-identity and federated-identity read nothing from Key Vault: no vault, none kept."""
    env = {f"{C}CREDENTIAL": kind, f"{C}TENANT_ID": TENANT, f"{C}CLIENT_ID": APP}
    conn = load_settings({**env, "KEY_VAULT_URL": VAULT}).connection("graph")
    assert conn.key_vault_url is None
    assert not conn.credential.reads_key_vault
    assert conn.object_setting == f"{C}CREDENTIAL"
    assert load_settings(env).connection("graph").credential == kind


@pytest.mark.parametrize("kind", ["certificate", "client-secret", "federated-identity", "keyvault-key"])
def test_app_kinds_require_tenant_and_client(kind: str) -> None:
    """Every kind but managed-identity requires TENANT_ID first (fields in order), then CLIENT_ID."""
    assert _connection_error({f"{C}CREDENTIAL": kind, "KEY_VAULT_URL": VAULT}) == (
        f"CONNECTIONS__GRAPH__TENANT_ID is required for credential '{kind}'."
    )
    assert _connection_error({f"{C}CREDENTIAL": kind, f"{C}TENANT_ID": TENANT, "KEY_VAULT_URL": VAULT}) == (
        f"CONNECTIONS__GRAPH__CLIENT_ID is required for credential '{kind}'."
    )


def test_identity_facts_for_caches_queries_and_messages() -> None:
    """Each identity has a cache key (ids lower-cased), an endpoint query and a description."""
    system = load_settings({}).managed_identity
    assert (system.cache_key, system.query(), system.describe()) == ("system", {}, "system-assigned identity")
    by_client = load_settings({"AZURE_CLIENT_ID": MI}).managed_identity
    assert by_client.cache_key == f"client_id={MI}"
    assert by_client.query() == {"client_id": MI}
    assert by_client.describe() == f"user-assigned identity (client id {MI})"
    by_resource = load_settings({"AZURE_MANAGED_IDENTITY_RESOURCE_ID": RESOURCE_ID}).managed_identity
    assert by_resource.cache_key == f"mi_res_id={RESOURCE_ID.lower()}"
    by_object = load_settings({"AZURE_MANAGED_IDENTITY_OBJECT_ID": MI}).managed_identity
    assert by_object.describe() == f"user-assigned identity (object (principal) id {MI})"


def test_a_managed_identity_connection_naming_system_and_a_client_id() -> None:
    """CLIENT_ID with MANAGED_IDENTITY_CLIENT_ID=system names two identities (no setting to name)."""
    env = {
        f"{C}CREDENTIAL": "managed-identity",
        f"{C}CLIENT_ID": APP,
        f"{C}MANAGED_IDENTITY_CLIENT_ID": "system",
    }
    assert _connection_error(env) == (
        "CONNECTIONS__GRAPH__CLIENT_ID and the identity setting name different identities; set one."
    )


def test_a_trailing_x_is_not_a_slash() -> None:
    """Only trailing slashes leave a URL: other trailing characters stay."""
    assert (
        load_settings({"GRAPH_URL": "https://graph.example/ROOTX/"}).cloud.graph_url
        == "https://graph.example/ROOTX"
    )


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("AZURE_MANAGED_IDENTITY_RESOURCE_ID", "; this is not a resource id."),
        ("AZURE_CLIENT_ID", "; this is not a GUID."),
    ],
)
def test_only_braces_around_a_guid_make_it_a_guid(name: str, says: str) -> None:
    """A GUID with other characters around it (not braces) is not taken for a GUID."""
    assert _global_error({name: f"X{MI}X"}).endswith(says)


def test_settings_are_frozen_and_connection_defaults_are_off() -> None:
    """Settings are shared by every invocation: read-only; a connection built with only the required
    fields (the app's own managed identity) sends no chain and reads no Key Vault."""
    settings = load_settings(_cert())
    conn = settings.connection("graph")
    for obj, attr in ((settings, "key_vault_url"), (conn, "client_id"), (conn.managed_identity, "id")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.timing.deadline_s = 1.0  # type: ignore[misc]  # the point: it is frozen
    endpoint = load_settings(
        {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/t", "IDENTITY_HEADER": "h"}
    ).identity_endpoint
    with pytest.raises(dataclasses.FrozenInstanceError):
        endpoint.url = "http://elsewhere"  # type: ignore[misc,union-attr]  # the point: it is frozen
    bare = ConnectionSettings("mi", CredentialKind.MANAGED_IDENTITY, None, None, settings.managed_identity)
    assert (bare.send_certificate_chain, bare.key_vault_url, bare.certificate, bare.secret, bare.key) == (
        False,
        None,
        None,
        None,
        None,
    )


def test_one_identity_named_by_two_settings_is_one_identity() -> None:
    """The same identity named by AZURE_CLIENT_ID and by a connection's field is equal (and hashes
    alike): the setting that named it is for messages only."""
    settings = load_settings(
        {"AZURE_CLIENT_ID": MI, f"{C}CREDENTIAL": "managed-identity", f"{C}MANAGED_IDENTITY_CLIENT_ID": MI}
    )
    app, conn = settings.managed_identity, settings.connection("graph").managed_identity
    assert (app.setting, conn.setting) == ("AZURE_CLIENT_ID", f"{C}MANAGED_IDENTITY_CLIENT_ID")
    assert app == conn
    assert hash(app) == hash(conn)
