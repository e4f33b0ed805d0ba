"""shared.identity's public face against the devstack with the real SDKs: names, tokens, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import shared.identity
from devstack.offline_tenant import OfflineTenant
from shared.config import CredentialKind
from shared.errors import ConfigurationError
from shared.identity import Token, connection, connection_names, reset_connections
from tests.app_env import app_connection, call_graph, configure

KINDS = {
    "graph_mi": ("managed-identity", {}),
    "graph_cert": ("certificate", {"CERTIFICATE": "entra-automation-cert"}),
    "graph_secret": ("client-secret", {"SECRET": "entra-automation-secret"}),
    "graph_federated": ("federated-identity", {}),
    "graph_kvkey": ("keyvault-key", {"KEY": "entra-automation-signing"}),
}
AUDIENCES = {
    "graph": "https://graph.microsoft.com",
    "arm": "https://management.azure.com",
    "exchange": "https://outlook.office365.com",
    "keyvault": "https://vault.azure.net",
    "storage": "https://storage.azure.com",
}


def _connections(devstack: OfflineTenant) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, (kind, fields) in KINDS.items():
        out[name] = (
            {"CREDENTIAL": kind} if kind == "managed-identity" else app_connection(devstack, kind, **fields)
        )
    return out


@pytest.fixture
def _all(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    configure(monkeypatch, devstack, _connections(devstack))
    yield
    reset_connections()


def test_exported_names_are_sorted_and_exist() -> None:
    """`__all__` is sorted and every name in it is importable from shared.identity."""
    assert shared.identity.__all__ == sorted(shared.identity.__all__)
    for name in shared.identity.__all__:
        assert hasattr(shared.identity, name), name


@pytest.mark.usefixtures("_all")
@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("resource", sorted(AUDIENCES))
def test_every_kind_gets_every_logical_resource(devstack: OfflineTenant, name: str, resource: str) -> None:
    """connection(name).token(<logical name>) is a token for that API's audience, for every kind."""
    token = connection(name).token(resource)
    assert isinstance(token, Token)
    assert token.claims["aud"] == AUDIENCES[resource]
    assert connection(name).kind is CredentialKind(KINDS[name][0])


@pytest.mark.usefixtures("_all")
@pytest.mark.parametrize("name", sorted(KINDS))
def test_graph_token_by_name_uri_or_scope_is_one_cached_token(devstack: OfflineTenant, name: str) -> None:
    """'graph', its URI, the URI with a slash and its .default scope are one cached token Graph accepts."""
    conn = connection(name)
    token = conn.token("graph")
    for spelling in ("https://graph.microsoft.com", "https://graph.microsoft.com/", "GRAPH"):
        assert conn.token(spelling) is token
    assert conn.token("https://graph.microsoft.com/.default") is token
    assert call_graph(devstack, token.value).status_code == 200


@pytest.mark.usefixtures("_all")
def test_an_app_id_uri_is_a_resource(devstack: OfflineTenant) -> None:
    """A URI that is no logical name (the app's own api://) is asked for as it is."""
    app_id = devstack.state()["app"]["clientId"]
    assert connection("graph_federated").token(f"api://{app_id}").claims["appid"] == app_id


@pytest.mark.usefixtures("_all")
def test_token_value_is_hidden_and_expiry_is_an_int() -> None:
    """The bearer string is in neither repr nor str; expires_on is int epoch seconds; claims a mapping."""
    token = connection("graph_cert").token("graph")
    assert token.value not in repr(token)
    assert token.value not in str(token)
    assert isinstance(token.expires_on, int)
    assert token.claims["roles"]
    with pytest.raises(TypeError):
        token.claims["roles"] = []  # type: ignore[index]


@pytest.mark.usefixtures("_all")
def test_connection_is_long_lived_and_case_insensitive() -> None:
    """The same Connection object is returned for any spelling of its name until reset."""
    conn = connection("GRAPH_CERT")
    assert connection("graph_cert") is conn
    assert (conn.name, conn.kind, conn.kind.value) == (
        "graph_cert",
        CredentialKind.CERTIFICATE,
        "certificate",
    )
    assert repr(conn) == "Connection(name='graph_cert', kind='certificate')"
    assert connection_names() == sorted(KINDS)


@pytest.mark.usefixtures("_all")
def test_unknown_connection_names_the_configured_ones() -> None:
    """An unknown name is a ConfigurationError listing every configured connection and how to add one."""
    with pytest.raises(ConfigurationError) as info:
        connection("nope")
    assert str(info.value) == (
        "No connection named 'nope'. Configured connections: graph_cert, graph_federated, graph_kvkey, "
        "graph_mi, graph_secret. Add CONNECTIONS__NOPE__CREDENTIAL (one of managed-identity, certificate, "
        "client-secret, federated-identity, keyvault-key) to define it."
    )


@pytest.mark.usefixtures("_all")
@pytest.mark.parametrize("resource", ["User.Read.All", "graphs", "https graph", ""])
def test_a_named_scope_or_unknown_word_is_refused(resource: str) -> None:
    """Anything that is neither a logical name nor a URI is refused with the names that work."""
    with pytest.raises(ConfigurationError) as info:
        connection("graph_mi").token(resource)
    assert str(info.value) == (
        f"'{resource}' is not a resource: ask for a logical name (graph, arm, exchange, keyvault, storage) "
        "or a resource URI (https://graph.microsoft.com, api://<app id>) or '<resource>/.default'; app-only "
        "tokens take no named scopes."
    )


def test_credential_kinds_are_the_setting_words() -> None:
    """CredentialKind's values are exactly the CONNECTIONS__<NAME>__CREDENTIAL words."""
    assert [k.value for k in CredentialKind] == [
        "managed-identity",
        "certificate",
        "client-secret",
        "federated-identity",
        "keyvault-key",
    ]
    assert [k for k in CredentialKind if k.reads_key_vault] == [
        CredentialKind.CERTIFICATE,
        CredentialKind.CLIENT_SECRET,
        CredentialKind.KEYVAULT_KEY,
    ]


@pytest.mark.usefixtures("_all")
def test_graph_client_pages_users_with_the_connections_token(devstack: OfflineTenant) -> None:
    """connection("graph_cert").graph pages /users from the cloud's Graph URL, and is built once."""
    graph = connection("graph_cert").graph
    assert connection("graph_cert").graph is graph
    assert graph.base_url == devstack.state()["graphUrl"]
    users = list(graph.pages("/users", select=["id", "displayName"]))
    assert len(users) == 250
    assert set(users[0]) >= {"id", "displayName"}
    session = graph._session
    assert (session.trust_env, session.verify) == (False, devstack.state()["caBundle"])


@pytest.mark.usefixtures("_all")
def test_each_connection_has_its_own_graph_client() -> None:
    """Two connections get two clients, each asking its own connection for tokens."""
    assert connection("graph_cert").graph is not connection("graph_mi").graph
    me = connection("graph_mi").graph.get("/organization", select=["id"])
    assert me["value"][0]["id"]


@pytest.mark.usefixtures("_all")
def test_on_behalf_of_needs_an_app_registrations_own_credential() -> None:
    """A managed-identity connection cannot exchange a user's token: a ConfigurationError says what can."""
    with pytest.raises(ConfigurationError) as caught:
        connection("graph_mi").on_behalf_of("eyJ.user.token", ["https://graph.microsoft.com/User.Read"])
    assert caught.value.message == (
        "Connection 'graph_mi' is a managed-identity connection: on-behalf-of needs the app "
        "registration's own credential (certificate, federated-identity, keyvault-key or client-secret)."
    )
    assert "eyJ.user.token" not in str(caught.value)


@pytest.mark.usefixtures("_all")
def test_vault_credential_is_the_key_vault_object_of_a_connection() -> None:
    """Certificate, client-secret and keyvault-key connections expose their vault object; others refuse."""
    cert = connection("graph_cert").vault_credential
    assert (cert.object_name, cert.setting_name) == (
        "entra-automation-cert",
        "CONNECTIONS__GRAPH_CERT__CERTIFICATE",
    )
    version, _ = cert.current()
    assert version == cert.version
    assert not cert.reload()  # nothing new in the vault
    assert connection("graph_secret").vault_credential.object_name == "entra-automation-secret"
    assert connection("graph_kvkey").vault_credential.object_name == "entra-automation-signing"
    for name, kind in (("graph_mi", "managed-identity"), ("graph_federated", "federated-identity")):
        with pytest.raises(ConfigurationError) as caught:
            connection(name).vault_credential  # noqa: B018 - the property raises
        assert caught.value.message == (
            f"Connection '{name}' is a {kind} connection: it keeps nothing in Key Vault."
        )
