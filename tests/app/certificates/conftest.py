"""Fixtures for the bootstrap tests: the app's settings, the deployer signed in through a stand-in az."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared.identity import reset_connections
from tests import caller_tokens as ct
from tests.app.certificates.support import TENANT_ID, install_fake_az
from tests.conftest import tls_session


@pytest.fixture
def http(devstack: OfflineTenant) -> Iterator[requests.Session]:
    with tls_session(devstack.state()["caBundle"]) as session:
        yield session


@pytest.fixture
def deployer(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The app's settings, and `az` on PATH signed in as Adele (the seeded deployer); yields the user."""
    for name, value in devstack.app_settings().items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith(("CONNECTIONS__", "CERTIFICATES__"))]:
        monkeypatch.delenv(name)
    install_fake_az(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_AZ_ENTRA", devstack.servers["entra"].url)
    monkeypatch.setenv("FAKE_AZ_CA", devstack.state()["caBundle"])
    monkeypatch.setenv("FAKE_AZ_TENANT", TENANT_ID)
    monkeypatch.setenv("FAKE_AZ_USER", ct.ADELE)
    reset_connections()
    yield ct.ADELE
    reset_connections()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """`configure(name, kind, client_id)` sets a connection with a fresh certificate name; returns it."""

    def setup(name: str, kind: str, client_id: str, **policy: str) -> str:
        certificate = f"{name}-{secrets.token_hex(4)}"
        prefix = f"CONNECTIONS__{name.upper()}__"
        monkeypatch.setenv(prefix + "CREDENTIAL", kind)
        monkeypatch.setenv(prefix + "TENANT_ID", TENANT_ID)
        monkeypatch.setenv(prefix + "CLIENT_ID", client_id)
        monkeypatch.setenv(prefix + ("CERTIFICATE" if kind == "certificate" else "KEY"), certificate)
        for field, value in policy.items():
            monkeypatch.setenv(f"CERTIFICATES__{name.upper()}__{field.upper()}", value)
        reset_connections()
        return certificate

    return setup


@pytest.fixture
def vault_role(devstack: OfflineTenant, http: requests.Session) -> Iterator[Callable[[str, str], None]]:
    """`vault_role(upn, role)` grants a Key Vault role until the test ends."""
    granted: list[str] = []

    def grant(upn: str, role: str) -> None:
        user = devstack.tenant.user(upn)
        assert user is not None
        url = f"{devstack.servers['keyvault'].url}/_devstack/roles/{user.object_id}/{role}"
        assert http.put(url, timeout=10).status_code == 204
        granted.append(url)

    yield grant
    for url in granted:
        http.delete(url, timeout=10)
