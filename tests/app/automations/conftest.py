"""The automation tests' world: the devstack tenant, storage on Azurite (the ledger), the app's settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.auth import reset_signing_keys
from shared.identity import reset_connections
from shared.runs import reset_ledger
from shared.storage import Account
from tests import caller_tokens as ct

TENANT = "434b7530-0ab7-490d-b439-d97439cdf1c4"


def _connection(kind: str, **fields: str) -> dict[str, str]:
    return {"CREDENTIAL": kind, "TENANT_ID": TENANT, "CLIENT_ID": ct.API_APP, **fields}


CONNECTIONS = {
    "graph_cert": _connection("certificate", CERTIFICATE="entra-automation-cert"),
    "graph_federated": _connection("federated-identity"),
    "graph_kvkey": _connection("keyvault-key", KEY="entra-automation-signing"),
}


@pytest.fixture
def app_env(devstack: OfflineTenant, storage: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's environment against the devstack, automations on the certificate connection."""
    for name, value in devstack.app_settings().items():
        monkeypatch.setenv(name, value)
    for conn, fields in CONNECTIONS.items():
        for field_name, value in fields.items():
            monkeypatch.setenv(f"CONNECTIONS__{conn.upper()}__{field_name}", value)
    monkeypatch.setenv("AUTOMATIONS__CONNECTION", "graph_cert")
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    reset_connections()
    reset_signing_keys()
    reset_ledger()
    yield
    reset_connections()
    reset_signing_keys()
    reset_ledger()


@pytest.fixture
def authority(devstack: OfflineTenant) -> str:
    return str(devstack.servers["entra"].url)


@pytest.fixture
def adele(authority: str, ca_bundle: str) -> str:
    """Adele's v2 token for the API (scope access_as_user; app roles Sessions.Revoke, GroupMembers.Manage)."""
    return ct.user_token(authority, TENANT, ca_bundle, ct.ADELE)


@pytest.fixture
def alex(authority: str, ca_bundle: str) -> str:
    """Alex's token for the API: the scope, no app role."""
    return ct.user_token(authority, TENANT, ca_bundle, ct.ALEX)


def _secret(devstack: OfflineTenant, name: str) -> str:
    found = devstack.tenant.vault.latest_secret(name)
    assert found is not None
    return found.value


@pytest.fixture
def caller_app(devstack: OfflineTenant, authority: str, ca_bundle: str) -> str:
    """The automation-caller app's app-only token (roles Sessions.Revoke, GroupMembers.Manage)."""
    return ct.app_token(
        authority, TENANT, ca_bundle, ct.CALLER_APP, _secret(devstack, "automation-caller-secret")
    )


@pytest.fixture
def observer_app(devstack: OfflineTenant, authority: str, ca_bundle: str) -> str:
    """The automation-observer app's token: valid, but no app role."""
    return ct.app_token(
        authority, TENANT, ca_bundle, ct.OBSERVER_APP, _secret(devstack, "automation-observer-secret")
    )
