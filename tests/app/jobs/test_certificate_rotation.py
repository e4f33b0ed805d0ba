"""The built-in certificate-rotation job against the Key Vault, Entra and Graph emulators."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.graph import GraphError
from shared.identity import connection, reset_connections
from shared.jobs._engine import Engine
from shared.jobs.builtin import certificate_rotation
from shared.runs import Ledger, Status
from shared.storage import Account
from tests.app.context.support import APP_ID
from tests.app.jobs.rotation_support import configure, counts, output, thumbprints

JOB = certificate_rotation.NAME


@pytest.mark.parametrize("kind", ["certificate", "keyvault-key"])
def test_rotation_renews_registers_switches_then_retires_after_the_grace(
    kind: str,
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within 30 days: new version, addKey; its token works while the old is on; the grace retires the old."""
    old = configure(devstack, http, monkeypatch, kind)
    runs = Ledger(storage)
    counts(devstack, http, reset=True)
    started = datetime.now(UTC)
    first = Engine(runs).run_now(JOB)
    assert first.status is Status.SUCCEEDED, first.error
    requests_first = counts(devstack, http)
    assert first.counts == {"created": 1, "registered": 1}
    done = output(runs, first)
    new = done["thumbprint"]
    assert new != old
    assert {old, new} <= thumbprints()
    reset_connections()  # a fresh instance: it loads the newest version and Entra accepts it
    token = connection("rot").token("graph")
    assert token.value
    assert [s["step"] for s in done["steps"]] == ["create", "addKey", "switch", "removeKey"]
    assert "waiting" in done["steps"][-1]

    # Before the grace has passed, a second run changes nothing.
    again = Engine(runs).run_now(JOB)
    assert again.status is Status.SUCCEEDED, again.error
    assert again.counts == {}
    assert old in thumbprints()

    http.put(
        f"{devstack.servers['graph'].url}/_devstack/clock", json={"advanceSeconds": 25 * 3600}, timeout=10
    )
    counts(devstack, http, reset=True)
    with clock.use(clock.ManualClock(datetime.now(UTC) + timedelta(hours=25))):
        last = Engine(runs).run_now(JOB)
    requests_last = counts(devstack, http)
    assert last.status is Status.SUCCEEDED, last.error
    assert last.counts == {"removed": 1}
    prints = thumbprints()
    assert new in prints
    assert old not in prints
    reset_connections()
    assert connection("rot").token("graph").value
    print(
        f"\n{kind}: requests first run {requests_first}, removal run {requests_last},"
        f" within 30 days to old key removed: {(datetime.now(UTC) - started).total_seconds():.2f}s"
    )


def test_graph_5xx_on_add_key_leaves_the_old_key_and_the_next_run_finishes(
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 503 on addKey fails the run naming the step; the old key gives tokens; the next run registers."""
    old = configure(devstack, http, monkeypatch, "certificate")
    fault = {"match": "/addKey", "status": 503, "times": 10}
    assert (
        http.post(f"{devstack.servers['graph'].url}/_devstack/faults", json=fault, timeout=10).status_code
        == 201
    )
    runs = Ledger(storage)
    failed = Engine(runs).run_now(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert "step addKey failed" in failed.error.message
    assert old in thumbprints()
    http.delete(f"{devstack.servers['graph'].url}/_devstack/faults", timeout=10)
    reset_connections()
    assert connection("rot").token("graph").value  # Entra refuses the newest: falls back
    done = Engine(runs).run_now(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"registered": 1}
    assert {old, output(runs, done)["thumbprint"]} <= thumbprints()


def _post_add_key(proof: str) -> GraphError:
    """addKey of a fresh certificate with `proof`; the GraphError Graph answered."""
    conn = connection("rot")
    app = conn.graph.get(f"/applications(appId='{APP_ID}')", select=["id"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    body = {
        "keyCredential": {
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        },
        "passwordCredential": None,
        "proof": proof,
    }
    with pytest.raises(GraphError) as refused:
        conn.graph.post(f"/applications/{app['id']}/addKey", json=body)
    return refused.value


def _signed(claims: dict[str, Any], key: Any, x5t: str | None = None) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": x5t} if x5t else None)


def test_refused_proofs(
    devstack: OfflineTenant,
    rotation_env: None,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Proofs signed by a key not on the app, with a wrong aud or iss, or expired: Graph's 401 each time."""
    configure(devstack, http, monkeypatch, "certificate")
    conn = connection("rot")
    conn.token("graph")  # loads the registered version
    _, material = conn.vault_credential.current()
    registered = serialization.load_pem_private_key(material.private_key_pem, None)
    x5t = base64.urlsafe_b64encode(bytes.fromhex(material.thumbprint)).decode().rstrip("=")
    object_id = conn.graph.get(f"/applications(appId='{APP_ID}')", select=["id"])["id"]
    now = int(time.time())
    good = {"aud": certificate_rotation.PROOF_AUDIENCE, "iss": object_id, "nbf": now, "exp": now + 600}
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    proofs = {
        "key not on the app": _signed(good, stranger),
        "wrong aud": _signed({**good, "aud": "https://graph.microsoft.com"}, registered, x5t),
        "wrong iss": _signed({**good, "iss": APP_ID}, registered, x5t),
        "expired": _signed({**good, "nbf": now - 1200, "exp": now - 600}, registered, x5t),
    }
    for why, proof in proofs.items():
        error = _post_add_key(proof)
        assert (error.status, error.code) == (401, "Authentication_MissingOrMalformed"), why


def test_two_instances_firing_for_one_slot_rotate_once(
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two instances' timers for the same slot, at once: one run, one new Key Vault version, one addKey."""
    old = configure(devstack, http, monkeypatch, "certificate")
    # The next 03:30 slot (after the certificate's start, which is now).
    slot_time = (datetime.now(UTC) + timedelta(days=1)).replace(hour=3, minute=30, second=1, microsecond=0)
    if slot_time - datetime.now(UTC) > timedelta(days=1):
        slot_time -= timedelta(days=1)
    with clock.use(clock.ManualClock(slot_time)), ThreadPoolExecutor(2) as pool:
        fired = list(pool.map(lambda _: Engine(Ledger(storage)).on_timer(JOB), range(2)))
    statuses = sorted(str(r.status.value) for r in fired if r is not None)
    assert statuses.count(Status.SUCCEEDED.value) == 1, statuses
    credential = connection("rot")._credential
    versions = credential._vault.certificate_versions(credential.object_name)  # type: ignore[attr-defined]
    assert len(versions) == 2
    assert (
        len(
            thumbprints()
            & (
                {old}
                | {
                    output(Ledger(storage), r)["thumbprint"]
                    for r in fired
                    if r and r.status is Status.SUCCEEDED
                }
            )
        )
        == 2
    )


def test_key_vault_throttled_on_create_is_waited_out_and_rotates_once(
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Key Vault answering 429 to create three times: the run waits as told and rotates once."""
    old = configure(devstack, http, monkeypatch, "keyvault-key")
    vault = devstack.servers["keyvault"].url
    fault = {"match": "/create", "status": 429, "times": 3, "retryAfter": 0}
    assert http.post(f"{vault}/_devstack/faults", json=fault, timeout=10).status_code == 201
    runs = Ledger(storage)
    try:
        done = Engine(runs).run_now(JOB)
    finally:
        http.delete(f"{vault}/_devstack/faults", timeout=10)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"created": 1, "registered": 1}
    credential = connection("rot")._credential
    versions = credential._vault.certificate_versions(credential.object_name)  # type: ignore[attr-defined]
    assert len(versions) == 2
    assert old in thumbprints()
