"""Shared by the rotation tests (jobs and context): the app's settings, a rotating connection `rot`,
the emulators' clocks and counters. Fixtures are imported by the conftests that use them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared.identity import connection, reset_connections
from shared.jobs import _connections
from shared.runs import Ledger, Run
from tests.app.context.support import APP_ID, TENANT_ID
from tests.conftest import tls_session

VAULT_ROLES = ("Key Vault Certificates Officer", "Key Vault Crypto User", "Key Vault Secrets User")


@pytest.fixture
def http(devstack: OfflineTenant) -> Iterator[requests.Session]:
    """A session trusting the devstack's CA (for its control endpoints)."""
    with tls_session(devstack.state()["caBundle"]) as session:
        yield session


@pytest.fixture
def rotation_env(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, http: requests.Session
) -> Iterator[None]:
    """The app's settings; its identity may renew certificates and sign; the clock goes back after."""
    for name, value in devstack.app_settings().items():
        monkeypatch.setenv(name, value)
    oid = devstack.user_assigned().object_id
    for role in VAULT_ROLES:
        http.put(f"{devstack.servers['keyvault'].url}/_devstack/roles/{oid}/{role}", timeout=10)
    reset_connections()
    _connections.reset()
    yield
    move_devstack_clock(devstack, http, offset=0)
    for server in ("graph", "keyvault"):
        http.delete(f"{devstack.servers[server].url}/_devstack/faults", timeout=10)
    reset_connections()
    _connections.reset()


def configure(
    devstack: OfflineTenant,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    *,
    valid_days: int = 20,
) -> str:
    """A connection `rot` whose certificate (`valid_days` left) is registered on the sample app."""
    name = "rot-" + secrets.token_hex(4)
    exportable = kind == "certificate"
    made = http.post(
        f"{devstack.servers['keyvault'].url}/_devstack/certificates/{name}",
        json={"validDays": valid_days, "registerOnApp": APP_ID, "exportable": exportable},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    monkeypatch.setenv("CONNECTIONS__ROT__CREDENTIAL", kind)
    monkeypatch.setenv("CONNECTIONS__ROT__TENANT_ID", TENANT_ID)
    monkeypatch.setenv("CONNECTIONS__ROT__CLIENT_ID", APP_ID)
    monkeypatch.setenv("CONNECTIONS__ROT__" + ("CERTIFICATE" if exportable else "KEY"), name)
    monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_CONNECTION", "rot")
    return str(made.json()["sha1Thumbprint"]).upper()


def move_devstack_clock(
    devstack: OfflineTenant, http: requests.Session, *, advance: timedelta | None = None, offset: float = 0
) -> None:
    """Move the emulators' credential clock forward by `advance` (or set its offset)."""
    spec = {"advanceSeconds": advance.total_seconds()} if advance else {"offsetSeconds": offset}
    http.put(f"{devstack.servers['graph'].url}/_devstack/clock", json=spec, timeout=10)


def add_fault(devstack: OfflineTenant, http: requests.Session, server: str, **fault: Any) -> None:
    """An emulator fault (`match`, `status`, `times`...), as its control endpoint takes it."""
    made = http.post(f"{devstack.servers[server].url}/_devstack/faults", json=fault, timeout=10)
    assert made.status_code == 201, made.text


def thumbprints() -> set[str]:
    """The sample app's registered certificate thumbprints (upper hex), read through `rot`."""
    app = connection("rot").graph.get(f"/applications(appId='{APP_ID}')", select=["keyCredentials"])
    return {str(k["customKeyIdentifier"]).upper() for k in app["keyCredentials"]}


def output(runs: Ledger, run: Run) -> dict[str, Any]:
    """The first connection's part of a rotation run's output."""
    data = runs.read_output(run)
    assert data is not None
    return dict(json.loads(data)["connections"][0])


def counts(devstack: OfflineTenant, http: requests.Session, reset: bool = False) -> dict[str, int]:
    """Requests Key Vault, Graph and Entra served since the last reset (or reset them)."""
    found = {}
    for server in ("keyvault", "graph", "entra"):
        url = f"{devstack.servers[server].url}/_devstack/requests"
        if reset:
            http.delete(url, timeout=10)
        else:
            found[server] = int(http.get(url, timeout=10).json()["total"])
    return found


def next_slot_after(moment: datetime) -> datetime:
    """The certificate-rotation job's default slot (03:30:00 UTC) first after `moment`."""
    slot = moment.replace(hour=3, minute=30, second=0, microsecond=0)
    return slot if slot > moment else slot + timedelta(days=1)
