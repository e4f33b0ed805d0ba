"""Shared fixtures: one in-process offline tenant per test session, and a clean environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from devstack.azurite import Azurite
from devstack.offline_tenant import OfflineTenant

if TYPE_CHECKING:
    from shared.storage import Account

ROOT = Path(__file__).resolve().parent.parent

# Variables that would make an SDK pick another identity or endpoint than the test means.
_AMBIENT = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLOUD",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
    "KEY_VAULT_URL",
    "GRAPH_URL",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("CONNECTIONS__"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineTenant]:
    """The four emulators on ephemeral ports, seeded from devstack/tenant/seed.json."""
    stack = OfflineTenant.start(tmp_path_factory.mktemp("devstack"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def scaled_devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[int], OfflineTenant]]:
    """A factory: `scaled_devstack(2500)` is an offline tenant with the scale seed's 2,500 users,
    groups and apps (`.scale` holds the generated facts); one per N per session, with its own CA."""
    stacks: dict[int, OfflineTenant] = {}

    def start(n: int) -> OfflineTenant:
        if n not in stacks:
            stacks[n] = OfflineTenant.start(tmp_path_factory.mktemp(f"devstack-scale-{n}"), scale=n)
        return stacks[n]

    try:
        yield start
    finally:
        for stack in stacks.values():
            stack.stop()


@pytest.fixture(scope="session")
def ca_bundle(devstack: OfflineTenant) -> str:
    return devstack.state()["caBundle"]  # type: ignore[no-any-return]


def tls_session(ca: str | Path) -> requests.Session:
    """A session that trusts only the devstack CA, whatever REQUESTS_CA_BUNDLE says (docs/identity.md)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca)
    return session


@pytest.fixture
def http(ca_bundle: str) -> Iterator[requests.Session]:
    with tls_session(ca_bundle) as session:
        yield session


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One in-memory Azurite (Table, Blob, Queue) for the session, on free loopback ports."""
    server = Azurite.start(ROOT, tmp_path_factory.mktemp("azurite"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def storage(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """The app's storage account on Azurite, with names of its own (a random prefix) for this test."""
    from shared.storage import StorageTarget, open_account, use_account

    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    store = open_account(
        StorageTarget("AzureWebJobsStorage", connection_string=azurite.connection_string),
        prefix="t" + secrets.token_hex(4),
    )
    with use_account(store):
        yield store
    store.close()
