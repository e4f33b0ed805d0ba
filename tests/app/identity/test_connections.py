"""Connections against the devstack with the real SDKs: every credential kind, caching, rotation, faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import sha1_hex
from shared import errors
from shared.identity import connection, connection_names, reset_connections
from tests.app.identity.support import run_cold
from tests.app_env import (
    app_connection,
    by_operation,
    call_graph,
    clear_faults,
    configure,
    counts,
    fault,
    reset_counts,
    url,
)
from tests.conftest import tls_session

GRAPH = "https://graph.microsoft.com"
APP_ROLES = [
    "Application.Read.All",
    "Group.Read.All",
    "GroupMember.ReadWrite.All",
    "Organization.Read.All",
    "User.Read.All",
    "User.RevokeSessions.All",
]


@pytest.fixture(autouse=True)
def _fresh(devstack: OfflineTenant) -> Iterator[None]:
    clear_faults(devstack)
    yield
    clear_faults(devstack)
    reset_connections()


def _all_kinds(devstack: OfflineTenant) -> dict[str, dict[str, str]]:
    return {
        "mi": {"CREDENTIAL": "managed-identity"},
        "cert": app_connection(devstack, "certificate", CERTIFICATE="entra-automation-cert"),
        "chain": app_connection(
            devstack, "certificate", CERTIFICATE="entra-automation-cert", SEND_CERTIFICATE_CHAIN="true"
        ),
        "secret": app_connection(devstack, "client-secret", SECRET="entra-automation-secret"),
        "fed": app_connection(devstack, "federated-identity"),
        "kvkey": app_connection(devstack, "keyvault-key", KEY="entra-automation-signing"),
    }


@pytest.mark.parametrize("name", ["mi", "cert", "chain", "secret", "fed", "kvkey"])
def test_each_kind_gets_a_graph_token_that_graph_accepts(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Every credential kind yields a Graph token with the expected roles, and Graph answers 200."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    conn = connection(name.upper())
    info = conn.token(GRAPH)
    expected = ["Organization.Read.All", "User.Read.All"] if name == "mi" else APP_ROLES
    assert info.claims["roles"] == expected
    assert info.claims["aud"] == GRAPH
    assert call_graph(devstack, info.value).status_code == 200
    assert info.value not in repr(info)


def test_tokens_for_other_resources(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exchange Online, Key Vault and the app's own api:// resource work with a /.default scope or not."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    app_id = devstack.state()["app"]["clientId"]
    exchange = connection("cert").token("https://outlook.office365.com/.default")
    assert exchange.claims["roles"] == ["Exchange.ManageAsApp"]
    assert connection("mi").token("https://vault.azure.net").claims["aud"] == "https://vault.azure.net"
    assert connection("fed").token(f"api://{app_id}").claims["appid"] == app_id


def test_facts_report_the_vault_thumbprints_once_loaded(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """facts show no certificate before the first token, then the vault's version and thumbprints."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    vault = devstack.tenant.vault
    for name, object_name in (("cert", "entra-automation-cert"), ("kvkey", "entra-automation-signing")):
        current = vault.latest_certificate(object_name)
        assert current is not None
        conn = connection(name)
        reset_counts(devstack)
        before = conn.facts
        assert before.certificate is None
        assert counts(devstack) == {"identity": 0, "entra": 0, "keyvault": 0, "graph": 0}  # no I/O
        conn.token("graph")
        cert = conn.facts.certificate
        assert cert is not None
        assert cert.thumbprint_sha1 == sha1_hex(current.certificate)
        assert cert.key_vault_version == current.version
        assert cert.days_left >= 300
    mi = connection("mi").facts.managed_identity
    assert (mi.type, mi.client_id, mi.object_id) == (
        "user-assigned",
        devstack.state()["managedIdentityClientId"],
        _user_identity(devstack).object_id,  # known: the vault reads above cached its token
    )
    assert connection_names() == ["cert", "chain", "fed", "kvkey", "mi", "secret"]


@pytest.mark.parametrize("name", ["mi", "cert", "secret", "fed", "kvkey"])
def test_warm_calls_cost_no_network(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """After the first token, 200 more get_token calls make no identity, Key Vault or Entra request."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    conn = connection(name)
    conn.token(GRAPH)
    reset_counts(devstack)
    for _ in range(200):
        conn.token(GRAPH)
        conn.token(f"{GRAPH}/.default")
    assert counts(devstack) == {"identity": 0, "entra": 0, "keyvault": 0, "graph": 0}


@pytest.mark.parametrize("name", ["mi", "cert", "kvkey"])
def test_concurrent_cold_calls_fetch_once(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """20 threads of a fresh process asking at once: one token, one identity call, one vault read.

    Cold by construction: the calls run in a new interpreter. The Key Vault SDK's first request
    to a vault carries no token and is answered 401 with the challenge (one per SDK package and
    vault, per process); only the authorized request reads the object.
    """
    env = {**devstack.app_settings()}
    for field_name, value in _all_kinds(devstack)[name].items():
        env[f"CONNECTIONS__{name.upper()}__{field_name}"] = value
    seen: list[tuple[str, bool, int]] = []
    vault = devstack.emulators["keyvault"]
    dispatch = vault.dispatch

    def recording(request: Any) -> Any:
        response = dispatch(request)
        if not request.path.startswith("/_devstack/"):
            seen.append(
                (request.path.split("/")[1], "Authorization" in request.headers, response.status_code)
            )
        return response

    monkeypatch.setattr(vault, "dispatch", recording)
    reset_counts(devstack)
    assert run_cold(name, env) == 1
    counted = counts(devstack)
    assert counted["identity"] == 1  # the mi token, or the vault token of the app kinds
    if name == "mi":
        assert seen == []
        return
    assert by_operation(devstack, "entra") == {"GetOpenIdConfiguration": 1, "Token": 1}
    read = "secrets" if name == "cert" else "certificates"
    reads = [s for s in seen if s[0] == read]
    assert reads == [(read, False, 401), (read, True, 200)]  # the challenge, then the one read
    if name == "kvkey":
        assert [s for s in seen if s[0] == "keys"] == [("keys", False, 401), ("keys", True, 200)]


def test_rotation_is_picked_up_without_restart(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new certificate version replaces the registered one: the next token uses it after AADSTS700027."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    conn = connection("cert")
    conn.token(GRAPH)
    old = conn.facts.certificate
    assert old is not None
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    with tls_session(devstack.state()["caBundle"]) as s:
        created = s.post(
            f"{url(devstack, 'keyvault')}/_devstack/certificates/entra-automation-cert",
            json={"registerOnApp": app.app_id},
            timeout=10,
        )
    assert created.status_code == 201, created.text
    new_thumbprint = created.json()["sha1Thumbprint"].upper()
    try:
        assert devstack.tenant.remove_certificate_credential(app, old.thumbprint_sha1)
        info = conn.token("https://outlook.office365.com")  # a new token: Entra sees the new key
        assert info.claims["roles"] == ["Exchange.ManageAsApp"]
        new = conn.facts.certificate
        assert new is not None
        assert new.thumbprint_sha1 == new_thumbprint != old.thumbprint_sha1
    finally:
        current = devstack.tenant.vault.latest_certificate("entra-automation-cert")
        assert current is not None


def test_certificate_unknown_to_the_app_is_a_misconfiguration(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vault certificate never registered on the app gives AADSTS700027 with its thumbprint in the hint."""
    with tls_session(devstack.state()["caBundle"]) as s:
        s.post(
            f"{url(devstack, 'keyvault')}/_devstack/certificates/stray-cert", json={}, timeout=10
        ).raise_for_status()
    configure(
        monkeypatch, devstack, {"stray": app_connection(devstack, "certificate", CERTIFICATE="stray-cert")}
    )
    with pytest.raises(errors.AuthenticationFailedError) as info:
        connection("stray").token(GRAPH)
    assert info.value.code == "AADSTS700027"
    assert "is not registered on app" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("fields", "error", "status"),
    [
        ({"CREDENTIAL": "client-secret", "SECRET": "no-such-secret"}, errors.KeyVaultError, 404),
        ({"CREDENTIAL": "certificate", "CERTIFICATE": "no-such-cert"}, errors.KeyVaultError, 404),
        (
            {"CREDENTIAL": "certificate", "CERTIFICATE": "entra-automation-signing"},
            errors.CertificateError,
            None,
        ),
    ],
)
def test_bad_vault_objects_are_typed_errors(
    devstack: OfflineTenant,
    monkeypatch: pytest.MonkeyPatch,
    fields: dict[str, str],
    error: type[errors.AutomationError],
    status: int | None,
) -> None:
    """A missing secret or a non-exportable certificate used as exportable raise our errors."""
    state = devstack.state()
    configure(
        monkeypatch,
        devstack,
        {"bad": {"TENANT_ID": state["tenantId"], "CLIENT_ID": state["app"]["clientId"], **fields}},
    )
    with pytest.raises(error) as info:
        connection("bad").token(GRAPH)
    assert info.value.status == status


def test_malformed_and_expired_certificates(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage PFX and an expired certificate in the vault raise CertificateError before Entra is called."""
    with tls_session(devstack.state()["caBundle"]) as s:
        s.put(
            f"{url(devstack, 'keyvault')}/_devstack/secrets/garbage-pfx",
            json={"value": "bm90IGEgcGZ4", "contentType": "application/x-pkcs12"},
            timeout=10,
        ).raise_for_status()
        s.post(
            f"{url(devstack, 'keyvault')}/_devstack/certificates/old-cert", json={"expired": True}, timeout=10
        ).raise_for_status()
    configure(
        monkeypatch,
        devstack,
        {
            "garbage": app_connection(devstack, "certificate", CERTIFICATE="garbage-pfx"),
            "old": app_connection(devstack, "certificate", CERTIFICATE="old-cert"),
        },
    )
    with pytest.raises(errors.CertificateError, match="PFX"):
        connection("garbage").token(GRAPH)
    with pytest.raises(errors.CertificateError, match="expired"):
        connection("old").token(GRAPH)


def test_unassigned_user_identity_is_a_misconfiguration(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user-assigned client id not assigned to the app: a 400 whose hint names the setting and id kinds."""
    other = next(i for i in devstack.tenant.identities if i.name == "id-other-workload")
    configure(monkeypatch, devstack, {"mi": {"CREDENTIAL": "managed-identity", "CLIENT_ID": other.client_id}})
    with pytest.raises(errors.AuthenticationFailedError) as info:
        connection("mi").token(GRAPH)
    assert (info.value.status, info.value.step) == (400, "identity-endpoint")
    assert (info.value.hint or "").startswith("CONNECTIONS__MI__CLIENT_ID holds a client id:")
    assert "AZURE_MANAGED_IDENTITY_OBJECT_ID" in (info.value.hint or "")


@pytest.mark.parametrize("status", [500, 429])
def test_identity_endpoint_bursts_are_retried(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """Two 500s or 429s (Retry-After honoured) from the identity endpoint are retried to success."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    fault(devstack, "identity", match="/msi/token", status=status, times=2, retryAfter=0.2)
    assert connection("mi").token(GRAPH).claims["roles"]


def test_identity_endpoint_outage_is_reported_as_an_outage(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A persistent 500 ends within the deadline as IdentityUnavailableError with status 500."""
    configure(monkeypatch, devstack, _all_kinds(devstack), TOKEN_DEADLINE_SECONDS="2")
    fault(devstack, "identity", match="/msi/token", status=500, times=1000)
    import time

    started = time.monotonic()
    with pytest.raises(errors.IdentityUnavailableError) as info:
        connection("mi").token(GRAPH)
    assert time.monotonic() - started < 4
    assert (info.value.status, info.value.step, info.value.outage) == (500, "identity-endpoint", True)


def test_key_vault_throttling_is_retried_after_retry_after(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key Vault 429 with Retry-After is waited out and the secret read succeeds."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    fault(devstack, "keyvault", match="/secrets/", status=429, times=2, retryAfter=0.3)
    assert connection("secret").token(GRAPH).claims["roles"] == APP_ROLES


def test_entra_outage_is_reported_with_its_status(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A persistent Entra 503 ends as IdentityUnavailableError 503 at step entra; a short burst recovers."""
    configure(monkeypatch, devstack, _all_kinds(devstack), TOKEN_DEADLINE_SECONDS="3")
    fault(devstack, "entra", match="/oauth2/v2.0/token", status=503, times=1, retryAfter=0.2)
    assert connection("fed").token(GRAPH).claims["roles"] == APP_ROLES
    fault(devstack, "entra", match="/oauth2/v2.0/token", status=503, times=1000, retryAfter=0.2)
    with pytest.raises(errors.IdentityUnavailableError) as info:
        connection("fed").token("https://outlook.office365.com")
    assert (info.value.status, info.value.step) == (503, "entra")


def _user_identity(devstack: OfflineTenant) -> Any:
    client_id = devstack.state()["managedIdentityClientId"]
    return next(i for i in devstack.tenant.identities if i.client_id == client_id)


@pytest.mark.parametrize("name", ["mi", "cert", "secret", "fed", "kvkey"])
def test_facts_name_the_managed_identity_each_kind_uses(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """facts show the identity a connection is or uses; its object id once one of its tokens is cached."""
    configure(monkeypatch, devstack, _all_kinds(devstack))
    identity = _user_identity(devstack)
    conn = connection(name)
    reset_counts(devstack)
    first = conn.facts.managed_identity
    assert (first.type, first.client_id, first.object_id) == ("user-assigned", identity.client_id, None)
    conn.token(GRAPH)
    reset_counts(devstack)
    after = conn.facts.managed_identity
    assert (after.type, after.client_id, after.object_id) == (
        "user-assigned",
        identity.client_id,
        identity.object_id,
    )
    assert counts(devstack) == {"identity": 0, "entra": 0, "keyvault": 0, "graph": 0}


def test_facts_of_a_system_assigned_identity(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MANAGED_IDENTITY_CLIENT_ID=system: system-assigned, no client id, then the token's object id."""
    configure(
        monkeypatch,
        devstack,
        {"sys": {"CREDENTIAL": "managed-identity", "MANAGED_IDENTITY_CLIENT_ID": "system"}},
    )
    system = next(i for i in devstack.tenant.identities if i.kind == "system")
    conn = connection("sys")
    before = conn.facts.managed_identity
    assert (before.type, before.client_id, before.object_id) == ("system-assigned", None, None)
    assert conn.token(GRAPH).claims["oid"] == system.object_id
    assert conn.facts.managed_identity.object_id == system.object_id
