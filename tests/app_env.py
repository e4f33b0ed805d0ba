"""Helpers for the identity tests: the app's environment against the devstack, and its control endpoints."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared.identity import reset_connections
from tests.conftest import tls_session

EMULATORS = ("identity", "entra", "keyvault", "graph")


def configure(
    monkeypatch: pytest.MonkeyPatch,
    devstack: OfflineTenant,
    connections: dict[str, dict[str, str]],
    **extra: str,
) -> None:
    """Point the app at the devstack, define `CONNECTIONS__*`, and forget every cached connection."""
    for name, value in {**devstack.app_settings(), **extra}.items():
        monkeypatch.setenv(name, value)
    for name, fields in connections.items():
        for field_name, value in fields.items():
            monkeypatch.setenv(f"CONNECTIONS__{name.upper()}__{field_name}", value)
    reset_connections()


def app_connection(devstack: OfflineTenant, credential: str, **fields: str) -> dict[str, str]:
    """Fields of a connection to the seeded app `entra-automation`."""
    state = devstack.state()
    return {
        "CREDENTIAL": credential,
        "TENANT_ID": state["tenantId"],
        "CLIENT_ID": state["app"]["clientId"],
        **fields,
    }


def url(devstack: OfflineTenant, emulator: str) -> str:
    return str(devstack.servers[emulator].url)


def _session(devstack: OfflineTenant) -> requests.Session:
    return tls_session(devstack.state()["caBundle"])


def counts(devstack: OfflineTenant) -> dict[str, int]:
    """Requests per emulator since the last reset (control endpoints, not counted themselves)."""
    with _session(devstack) as s:
        return {
            e: int(s.get(f"{url(devstack, e)}/_devstack/requests", timeout=5).json()["total"])
            for e in EMULATORS
        }


def by_operation(devstack: OfflineTenant, emulator: str) -> dict[str, int]:
    with _session(devstack) as s:
        body: dict[str, Any] = s.get(f"{url(devstack, emulator)}/_devstack/requests", timeout=5).json()
        return {str(k): int(v) for k, v in body["byOperation"].items()}


def reset_counts(devstack: OfflineTenant) -> None:
    with _session(devstack) as s:
        for e in EMULATORS:
            s.delete(f"{url(devstack, e)}/_devstack/requests", timeout=5).raise_for_status()


def fault(devstack: OfflineTenant, emulator: str, **spec: Any) -> None:
    """Inject `{"match", "status", "times", "retryAfter", "delayMs"}` into one emulator."""
    with _session(devstack) as s:
        s.post(f"{url(devstack, emulator)}/_devstack/faults", json=spec, timeout=5).raise_for_status()


def clear_faults(devstack: OfflineTenant) -> None:
    with _session(devstack) as s:
        for e in EMULATORS:
            s.delete(f"{url(devstack, e)}/_devstack/faults", timeout=5).raise_for_status()


def call_graph(devstack: OfflineTenant, token: str) -> requests.Response:
    with _session(devstack) as s:
        return s.get(
            f"{devstack.state()['graphUrl']}/v1.0/organization",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
