"""The control endpoints every emulator answers (docs/contract.md): request counts and fault injection."""

from __future__ import annotations

import pytest
import requests

from devstack.offline_tenant import OfflineTenant

EMULATORS = ["identity", "entra", "keyvault", "graph"]


def _base(devstack: OfflineTenant, name: str) -> str:
    return devstack.servers[name].url


@pytest.mark.parametrize("name", EMULATORS)
def test_counts_move_and_reset(devstack: OfflineTenant, http: requests.Session, name: str) -> None:
    """Every request is counted by operation; DELETE resets the counts."""
    base = _base(devstack, name)
    assert http.delete(f"{base}/_devstack/requests").status_code == 204
    http.get(f"{base}/no/such/path")
    counts = http.get(f"{base}/_devstack/requests").json()
    assert counts["total"] == 1
    assert sum(counts["byOperation"].values()) == 1
    http.delete(f"{base}/_devstack/requests")
    assert http.get(f"{base}/_devstack/requests").json() == {"total": 0, "byOperation": {}}


@pytest.mark.parametrize("name", EMULATORS)
def test_fault_fires_given_number_of_times(
    devstack: OfflineTenant, http: requests.Session, name: str
) -> None:
    """A fault with times=2 fails exactly the next two matching requests with its status and Retry-After."""
    base = _base(devstack, name)
    spec = {"match": "^/fault-probe", "status": 503, "times": 2, "retryAfter": 1.5}
    assert http.post(f"{base}/_devstack/faults", json=spec).status_code == 201
    first, second, third = (http.get(f"{base}/fault-probe") for _ in range(3))
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.headers["Retry-After"] == "1.5"
    assert third.status_code != 503
    http.delete(f"{base}/_devstack/faults")


def test_fault_only_matches_its_pattern(devstack: OfflineTenant, http: requests.Session) -> None:
    """Requests whose path does not match the regex are served normally; DELETE clears faults."""
    base = _base(devstack, "graph")
    http.post(f"{base}/_devstack/faults", json={"match": "^/only-this", "status": 429, "times": 5})
    assert http.get(f"{base}/other").status_code != 429
    assert http.delete(f"{base}/_devstack/faults").status_code == 204
    assert http.get(f"{base}/only-this").status_code != 429


def test_bad_fault_is_refused(devstack: OfflineTenant, http: requests.Session) -> None:
    """A malformed fault specification gets 400, not a crash."""
    base = _base(devstack, "entra")
    assert http.post(f"{base}/_devstack/faults", json={"match": "(", "status": 500}).status_code == 400
    assert http.post(f"{base}/_devstack/faults", json={"status": 42}).status_code == 400


def test_tls_is_verified_against_the_devstack_ca(devstack: OfflineTenant) -> None:
    """The https emulators present a certificate the system trust store does not accept."""
    with requests.Session() as s:
        s.trust_env = False
        with pytest.raises(requests.exceptions.SSLError):
            s.get(f"{_base(devstack, 'keyvault')}/_devstack/requests", verify=True)


@pytest.mark.parametrize("name", EMULATORS)
@pytest.mark.parametrize(
    "body",
    [
        b'{"delayMs": -5}',
        b'{"delayMs": 600000}',
        b'{"times": "5"}',
        b'{"times": 0}',
        b'{"status": true}',
        b'{"retryAfter": NaN}',
        b'{"retryAfter": -1}',
        b'{"match": 5}',
        b'{"match": "("}',
        b"{",
        b"[]",
        b"\xff\xfe",
        b"[" * 10000 + b"]" * 10000,
    ],
)
def test_bad_fault_specs_are_problems(
    devstack: OfflineTenant, http: requests.Session, name: str, body: bytes
) -> None:
    """Every malformed fault (negative delay, wrong type, bad JSON) is a 400 problem, never accepted."""
    base = _base(devstack, name)
    response = http.post(f"{base}/_devstack/faults", data=body)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 400
    assert "Traceback" not in response.text
    assert http.get(f"{base}/_devstack/faults").json() == []


def test_unknown_control_endpoint_and_method(devstack: OfflineTenant, http: requests.Session) -> None:
    """An unknown control path is a 404 problem; a wrong method on a known one a 405 problem."""
    base = _base(devstack, "identity")
    missing = http.get(f"{base}/_devstack/nothing-here")
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, "application/problem+json")
    wrong = http.put(f"{base}/_devstack/requests")
    assert (wrong.status_code, wrong.headers["Content-Type"]) == (405, "application/problem+json")
