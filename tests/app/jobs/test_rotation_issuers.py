"""certificate-rotation through a Key Vault CA issuer: a renewal the CA has not issued within the run's
wait leaves the connection `pending` (tokens keep working, a fresh instance included); the next run
registers it without asking the CA twice; a CA's refusal fails the run at create in its words; and
/api/context tells which."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from shared import clock
from shared.jobs.builtin import certificate_rotation
from shared.runs import Status
from tests.app.certificates.issuers import ca_issued, ca_pace, chain_of, new_issuer
from tests.app.certificates.support import operations
from tests.app.context.support import APP_ID, TENANT_ID, call_context
from tests.app.jobs.rotation_support import Rotating, fresh_token, thumbprints

JOB = certificate_rotation.NAME


def _on_ca_certificate(rot: Rotating, kind: str, issuer: str) -> tuple[str, str]:
    """Connection `rot` on a certificate the CA issued (a month's validity) and that is on the app;
    rotation starts within 40 days, so at once. The certificate's name and thumbprint."""
    name = "rot-" + secrets.token_hex(4)
    ca_issued(rot.devstack, issuer, f"CN={name}", exportable=kind == "certificate", name=name)
    version = rot.devstack.tenant.vault.latest_certificate(name)
    app = rot.devstack.tenant.app(APP_ID)
    assert version is not None
    assert app is not None
    rot.devstack.tenant.add_certificate_credential(app, version.certificate, display_name=f"CN={name}")
    setting = "CERTIFICATE" if kind == "certificate" else "KEY"
    for field, value in {
        "CREDENTIAL": kind,
        "TENANT_ID": TENANT_ID,
        "CLIENT_ID": APP_ID,
        setting: name,
    }.items():
        rot.monkeypatch.setenv(f"CONNECTIONS__ROT__{field}", value)
    rot.monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_CONNECTION", "rot")
    rot.monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_DAYS", "40")
    return name, _thumbprint_of(rot, name)


def _thumbprint_of(rot: Rotating, name: str) -> str:
    version = rot.devstack.tenant.vault.latest_certificate(name)
    assert version is not None
    der = version.certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


@pytest.mark.parametrize("kind", ["certificate", "keyvault-key"])
def test_a_renewal_the_ca_has_not_issued_is_pending_and_the_next_run_registers_it(
    kind: str, rotating: Rotating
) -> None:
    """Wait 0 with a CA taking 2 s: the run succeeds with the connection pending, tokens work (a fresh
    instance too, while Key Vault's latest version has no certificate yet); then one more run: addKey."""
    issuer = new_issuer(rotating.devstack, rotating.http)
    name, old = _on_ca_certificate(rotating, kind, issuer)
    ca_pace(rotating.devstack, rotating.http, issuer, delaySeconds=2)
    rotating.monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_ISSUANCE_WAIT_SECONDS", "0")
    operations(rotating.devstack, rotating.http, reset=True)

    first = rotating.run(JOB)
    assert first.status is Status.SUCCEEDED, first.error
    assert first.counts == {}
    assert operations(rotating.devstack, rotating.http)["CreateCertificate"] == 1
    assert first.detail["rotation"]["rot"]["status"] == "pending"
    assert first.detail["rotation"]["rot"]["step"] == "rotation:create"
    assert f"issuer {issuer} has not issued certificate {name}" in first.detail["rotation"]["rot"]["message"]
    assert rotating.output(first)["steps"] == [{"step": "create", "waiting": issuer}]
    assert thumbprints() >= {old}
    assert fresh_token(
        "rot"
    )  # a new instance: Key Vault's latest is the pending version; the issued one signs

    with clock.use(clock.ManualClock(datetime.now(UTC))):
        status, _, report = call_context("connection=rot")
    assert status == 200
    entry = report["connections"]["rot"]
    assert entry["status"] == "ok", entry.get("diagnosis")
    assert entry["rotation"]["lastRun"]["status"] == "pending"
    assert any("has not issued yet" in w for w in entry["warnings"])
    # Within 7 days of expiry and still pending: degraded, saying the CA has not issued it.
    with clock.use(clock.ManualClock(datetime.now(UTC) + timedelta(days=26))):
        _, _, late = call_context("connection=rot")
    diagnosis = late["connections"]["rot"]["diagnosis"]
    assert diagnosis["code"] == "RotationOverdue"
    assert "which its CA issuer has not issued" in diagnosis["problem"]

    rotating.monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_ISSUANCE_WAIT_SECONDS", "30")
    time.sleep(2.2)
    operations(rotating.devstack, rotating.http, reset=True)
    second = rotating.run(JOB)
    assert second.status is Status.SUCCEEDED, second.error
    assert second.counts == {"registered": 1}
    assert "CreateCertificate" not in operations(rotating.devstack, rotating.http)  # no second request
    new = rotating.output(second)["thumbprint"]
    assert {old, new} <= thumbprints()
    leaf, [issuing] = chain_of(rotating.devstack, name)
    assert leaf.issuer == issuing.subject  # the renewal came from the same CA
    assert fresh_token("rot")


def test_a_renewal_the_ca_refuses_fails_at_create_and_the_old_certificate_keeps_working(
    rotating: Rotating,
) -> None:
    """The CA refuses: the run fails at rotation:create with the CA's reason; no new version; tokens work."""
    issuer = new_issuer(rotating.devstack, rotating.http)
    name, old = _on_ca_certificate(rotating, "certificate", issuer)
    ca_pace(rotating.devstack, rotating.http, issuer, refuse="The CA account's payment method expired.")
    versions = len(rotating.devstack.tenant.vault.certificates[name])

    failed = rotating.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert failed.error.step == "rotation:create"
    assert f"issuer {issuer} did not issue certificate {name}" in failed.error.message
    assert "The CA account's payment method expired." in failed.error.message
    assert len(rotating.devstack.tenant.vault.certificates[name]) == versions
    assert thumbprints() >= {old}
    assert fresh_token("rot")


@pytest.mark.parametrize("value", ["soon", "-1", "481"])
def test_a_bad_issuance_wait_is_named_and_nothing_is_requested(rotating: Rotating, value: str) -> None:
    """ISSUANCE_WAIT_SECONDS outside 0-480: the run fails naming the setting, before any create."""
    old = rotating.certificate("certificate")
    rotating.monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_ISSUANCE_WAIT_SECONDS", value)
    operations(rotating.devstack, rotating.http, reset=True)
    failed = rotating.run(JOB)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert f"JOB_CERTIFICATE_ROTATION_ISSUANCE_WAIT_SECONDS must be 0 to 480 seconds, not '{value}'." in (
        failed.error.message
    )
    assert "CreateCertificate" not in operations(rotating.devstack, rotating.http)
    assert thumbprints() >= {old}
