"""Retries, deadlines and TLS of the identity code against the emulators' injected faults."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.offline_tenant import OfflineTenant
from shared import errors
from shared.identity import connection, reset_connections
from tests.app_env import app_connection, by_operation, clear_faults, configure, fault, reset_counts

GRAPH = "graph"


@pytest.fixture(autouse=True)
def _fresh(devstack: OfflineTenant) -> Iterator[None]:
    clear_faults(devstack)
    yield
    clear_faults(devstack)
    reset_connections()


def _kinds(devstack: OfflineTenant) -> dict[str, dict[str, str]]:
    return {
        "mi": {"CREDENTIAL": "managed-identity"},
        "secret": app_connection(devstack, "client-secret", SECRET="entra-automation-secret"),
        "fed": app_connection(devstack, "federated-identity"),
        "cert": app_connection(devstack, "certificate", CERTIFICATE="entra-automation-cert"),
    }


def test_key_vault_retry_after_is_waited_in_full(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Key Vault 429 with Retry-After 1.2 s is retried after at least 1.2 s (not a jittered backoff)."""
    configure(monkeypatch, devstack, _kinds(devstack))
    fault(devstack, "keyvault", match="/secrets/", status=429, times=1, retryAfter=1.2)
    started = time.monotonic()
    assert connection("secret").token(GRAPH).claims["roles"]
    assert time.monotonic() - started >= 1.2


def test_identity_endpoint_http_date_retry_after_is_honoured(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 whose Retry-After is an HTTP-date two seconds ahead is retried about then, and succeeds."""
    configure(monkeypatch, devstack, _kinds(devstack))
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    fault(devstack, "identity", match="/msi/token", status=503, times=1, retryAfter=when)
    started = time.monotonic()
    assert connection("mi").token(GRAPH).claims["roles"]
    assert time.monotonic() - started >= 0.9  # HTTP-dates have whole seconds


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_each_transient_status_of_the_identity_endpoint_is_retried(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """One 408/500/502/503/504 from the identity endpoint is retried to a token."""
    configure(monkeypatch, devstack, _kinds(devstack))
    fault(devstack, "identity", match="/msi/token", status=status, times=1, retryAfter=0.1)
    reset_counts(devstack)
    assert connection("mi").token(GRAPH).claims["roles"]
    assert by_operation(devstack, "identity") == {"GetManagedIdentityToken": 2}


@pytest.mark.parametrize("status", [504, 502])
def test_key_vault_gateway_errors_are_retried(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """A 504 or 502 from Key Vault is retried, and the secret is then read."""
    configure(monkeypatch, devstack, _kinds(devstack))
    fault(devstack, "keyvault", match="/secrets/", status=status, times=1, retryAfter=0.1)
    assert connection("secret").token(GRAPH).claims["roles"]


def test_a_non_transient_key_vault_answer_is_not_retried(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 400 from Key Vault is raised at once as KeyVaultError 400 (a retry would have succeeded)."""
    configure(monkeypatch, devstack, _kinds(devstack))
    connection("cert").token(GRAPH)  # the secrets client's challenge for this vault is now cached
    fault(devstack, "keyvault", match="/secrets/entra-automation-secret", status=400, times=1)
    with pytest.raises(errors.KeyVaultError) as info:
        connection("secret").token(GRAPH)
    assert (info.value.status, info.value.outage, info.value.step) == (400, False, "key-vault")


def test_key_vault_tls_is_verified(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With REQUESTS_CA_BUNDLE naming another CA, the vault read fails TLS verification, at Key Vault."""
    import trustme

    bundle = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    configure(monkeypatch, devstack, _kinds(devstack), REQUESTS_CA_BUNDLE=str(bundle))
    with pytest.raises(errors.ConfigurationError) as info:
        connection("secret").token(GRAPH)
    assert info.value.step == "key-vault"
    assert str(info.value.message).startswith("Key Vault: TLS verification failed (")
    assert info.value.hint == (
        "TLS verification failed: if the service uses a private CA, point REQUESTS_CA_BUNDLE at its PEM "
        "bundle."
    )


def test_entra_tls_is_verified(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The federated connection (no vault) fails TLS verification at Entra with another CA."""
    import trustme

    bundle = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    configure(monkeypatch, devstack, _kinds(devstack), REQUESTS_CA_BUNDLE=str(bundle))
    with pytest.raises(errors.ConfigurationError) as info:
        connection("fed").token(GRAPH)
    assert info.value.step == "entra"
    assert str(info.value.message) == "Entra: TLS verification failed (SSLError)."


def test_entra_openid_outage_is_an_outage(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A persistent 503 on the OpenID configuration ends as IdentityUnavailableError 503 by the deadline."""
    configure(monkeypatch, devstack, _kinds(devstack), TOKEN_DEADLINE_SECONDS="1.5")
    fault(devstack, "entra", match="openid-configuration", status=503, times=1000, retryAfter=0.2)
    tenant = devstack.state()["tenantId"]
    started = time.monotonic()
    with pytest.raises(errors.IdentityUnavailableError) as info:
        connection("fed").token(GRAPH)
    assert time.monotonic() - started < 3
    assert str(info.value) == (
        f"Entra's OpenID configuration for tenant {tenant} answered HTTP 503: an outage; retry later."
    )
    assert (info.value.status, info.value.step) == (503, "entra")


def test_entra_openid_burst_is_retried(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """One 503 on the OpenID configuration is retried and the token follows."""
    configure(monkeypatch, devstack, _kinds(devstack))
    fault(devstack, "entra", match="openid-configuration", status=503, times=1, retryAfter=0.1)
    assert connection("fed").token(GRAPH).claims["roles"]


def test_unknown_tenant_is_a_misconfiguration(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TENANT_ID Entra does not know: AuthenticationFailedError AADSTS90002 naming the tenant."""
    unknown = "00000000-0000-4000-8000-000000000000"
    conn = {**app_connection(devstack, "federated-identity"), "TENANT_ID": unknown}
    configure(monkeypatch, devstack, {"fed": conn})
    with pytest.raises(errors.AuthenticationFailedError) as info:
        connection("fed").token(GRAPH)
    assert (info.value.code, info.value.aadsts, info.value.step) == ("AADSTS90002", 90002, "entra")
    assert info.value.message.startswith(f"Entra has no OpenID configuration for tenant '{unknown}' (HTTP 4")


def test_no_identity_endpoint_is_a_configuration_error(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without IDENTITY_ENDPOINT/IDENTITY_HEADER a managed identity connection says how to get them."""
    configure(monkeypatch, devstack, _kinds(devstack))
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    reset_connections()
    with pytest.raises(errors.ConfigurationError) as info:
        connection("mi").token(GRAPH)
    assert (
        info.value.message
        == "No managed identity endpoint: IDENTITY_ENDPOINT and IDENTITY_HEADER are not set."
    )
    assert info.value.step == "identity-endpoint"


def test_a_cached_token_is_served_through_an_outage(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token inside its refresh margin but not expired is served when the refresh hits an outage."""
    configure(monkeypatch, devstack, _kinds(devstack), TOKEN_DEADLINE_SECONDS="1")
    conn = connection("mi")
    first = conn.token(GRAPH)
    monkeypatch.setattr(conn, "_margin_s", first.expires_on - time.time() + 60)  # due for refresh
    fault(devstack, "identity", match="/msi/token", status=503, times=1000, retryAfter=0.1)
    assert conn.token(GRAPH) is first
    monkeypatch.setattr(conn, "_margin_s", 0)
    assert conn.token(GRAPH) is first  # fresh again by the margin: no fetch at all
