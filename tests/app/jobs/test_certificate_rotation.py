"""The built-in certificate-rotation job against the Key Vault, Entra and Graph emulators."""

from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.graph import GraphError
from shared.identity import connection
from shared.jobs.builtin import certificate_rotation
from shared.runs import Status
from tests.app.context.support import APP_ID
from tests.app.jobs.rotation_support import (
    CERTIFICATE_SLOT,
    GRACE,
    Rotating,
    fire_twice,
    fresh_token,
    ledger_text,
    next_slot_after,
    thumbprints,
)

JOB = certificate_rotation.NAME


def _versions() -> int:
    """How many versions the Key Vault certificate behind connection `rot` has."""
    credential = connection("rot")._credential
    return len(credential._vault.certificate_versions(credential.object_name))  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["certificate", "keyvault-key"])
def test_rotation_renews_registers_switches_then_retires_after_the_grace(
    kind: str, rotating: Rotating, caplog: pytest.LogCaptureFixture
) -> None:
    """Within 30 days: new version, addKey; its token works while the old is on; the grace retires the old."""
    caplog.set_level(logging.DEBUG)
    old = rotating.certificate(kind)
    rotating.counts(reset=True)
    started = datetime.now(UTC)
    first = rotating.run(JOB)
    assert first.status is Status.SUCCEEDED, first.error
    requests_first = rotating.counts()
    assert first.counts == {"created": 1, "registered": 1}
    done = rotating.output(first)
    new = done["thumbprint"]
    assert new != old
    assert {old, new} <= thumbprints()
    assert fresh_token("rot")  # a fresh instance: it loads the newest version and Entra accepts it
    assert [s["step"] for s in done["steps"]] == ["create", "addKey", "switch", "removeKey"]
    assert "waiting" in done["steps"][-1]

    # Before the grace has passed, a second run changes nothing.
    again = rotating.run(JOB)
    assert again.status is Status.SUCCEEDED, again.error
    assert again.counts == {}
    assert old in thumbprints()

    after_grace = rotating.later(GRACE)
    rotating.counts(reset=True)
    last = rotating.run(JOB, at=after_grace)
    requests_last = rotating.counts()
    assert last.status is Status.SUCCEEDED, last.error
    assert last.counts == {"removed": 1}
    prints = thumbprints()
    assert new in prints
    assert old not in prints
    assert fresh_token("rot")
    # No proof, client assertion, token or private key in the ledger, the outputs or the DEBUG logs.
    seen = ledger_text(rotating.runs, JOB) + caplog.text
    assert len(caplog.records) > 10  # the SDKs did log at DEBUG
    assert "eyJ" not in seen
    assert "PRIVATE KEY" not in seen
    print(
        f"\n{kind}: requests first run {requests_first}, removal run {requests_last},"
        f" within 30 days to old key removed: {(datetime.now(UTC) - started).total_seconds():.2f}s"
    )


def test_graph_5xx_on_add_key_leaves_the_old_key_and_the_next_run_finishes(rotating: Rotating) -> None:
    """A 503 on addKey fails the run naming the step; the old key gives tokens; the next run registers."""
    old = rotating.certificate("certificate")
    rotating.fault("graph", match="/addKey", status=503, times=10)
    failed = rotating.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert "step addKey failed" in failed.error.message
    assert old in thumbprints()
    rotating.clear_faults("graph")
    assert fresh_token("rot")  # Entra refuses the newest: falls back
    done = rotating.run(JOB)
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"registered": 1}
    assert {old, rotating.output(done)["thumbprint"]} <= thumbprints()


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


def test_refused_proofs(rotating: Rotating) -> None:
    """Proofs signed by a key not on the app, with a wrong aud or iss, or expired: Graph's 401 each time."""
    rotating.certificate("certificate")
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


def test_two_instances_firing_for_one_slot_rotate_once(rotating: Rotating) -> None:
    """Two instances' timers for the same slot, at once: one run, one new Key Vault version, one addKey."""
    old = rotating.certificate("certificate")
    # The next 03:30 slot (after the certificate's start, which is now).
    slot_time = next_slot_after(datetime.now(UTC), CERTIFICATE_SLOT) + timedelta(seconds=1)
    fired = fire_twice(rotating.storage, JOB, slot_time)
    statuses = sorted(str(r.status.value) for r in fired if r is not None)
    assert statuses.count(Status.SUCCEEDED.value) == 1, statuses
    assert _versions() == 2
    new = {rotating.output(r)["thumbprint"] for r in fired if r and r.status is Status.SUCCEEDED}
    assert len(thumbprints() & ({old} | new)) == 2


def test_key_vault_throttled_on_create_is_waited_out_and_rotates_once(rotating: Rotating) -> None:
    """Key Vault answering 429 to create three times: the run waits as told and rotates once."""
    old = rotating.certificate("keyvault-key")
    rotating.fault("keyvault", match="/create", status=429, times=3, retryAfter=0)
    try:
        done = rotating.run(JOB)
    finally:
        rotating.clear_faults("keyvault")
    assert done.status is Status.SUCCEEDED, done.error
    assert done.counts == {"created": 1, "registered": 1}
    assert _versions() == 2
    assert old in thumbprints()


def test_missing_vault_permission_fails_at_create_naming_the_role(rotating: Rotating) -> None:
    """Without Certificates Officer: the run fails at rotation:create, 403, the hint names the role."""
    old = rotating.certificate("certificate")
    before = thumbprints()
    with rotating.without_vault_role("Key Vault Certificates Officer"):
        failed = rotating.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert (failed.error.step, failed.error.status, failed.error.outage) == ("rotation:create", 403, False)
    assert "step create failed" in failed.error.message
    assert failed.error.hint is not None
    assert "Key Vault Certificates Officer" in failed.error.hint
    assert _versions() == 1
    assert thumbprints() == before
    assert old in before
    assert fresh_token("rot")
