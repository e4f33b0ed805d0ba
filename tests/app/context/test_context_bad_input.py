"""Bad input seen through GET /api/context: each case is `status: error` with the step, code and fix.

The issue's list: malformed PFX, PEM without a key, expired certificate, certificate unknown to
the app, secret not in the vault, wrong user-assigned id. The material is made with the Key
Vault emulator's control endpoints under fresh names, so the session's tenant stays as seeded;
the five sample connections are configured beside the broken one and must stay ok.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from devstack.offline_tenant import OfflineTenant
from shared.identity import reset_connections
from tests.app.context.support import APP_ID, KINDS, call_context
from tests.app_env import app_connection, url
from tests.conftest import tls_session

BROKEN = "bad"

# The sample connections (test_context.py) configured beside the broken one.
pytestmark = pytest.mark.usefixtures("app_env")


def _fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _put_secret(devstack: OfflineTenant, name: str, value: str, content_type: str) -> None:
    with tls_session(devstack.state()["caBundle"]) as s:
        s.put(
            f"{url(devstack, 'keyvault')}/_devstack/secrets/{name}",
            json={"value": value, "contentType": content_type},
            timeout=10,
        ).raise_for_status()


def _new_certificate(devstack: OfflineTenant, name: str, **spec: Any) -> dict[str, Any]:
    with tls_session(devstack.state()["caBundle"]) as s:
        created = s.post(f"{url(devstack, 'keyvault')}/_devstack/certificates/{name}", json=spec, timeout=10)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def _broken_report(monkeypatch: pytest.MonkeyPatch, fields: dict[str, str]) -> tuple[dict[str, Any], Any]:
    """Add connection `bad` to the sample ones, report all; return its entry and the whole report."""
    for name, value in fields.items():
        monkeypatch.setenv(f"CONNECTIONS__{BROKEN.upper()}__{name}", value)
    reset_connections()
    status, _, report = call_context()
    assert status == 200
    others = {n: e["status"] for n, e in report["connections"].items() if n != BROKEN}
    assert others == dict.fromkeys(KINDS, "ok"), [
        report["connections"][n].get("diagnosis") for n in others if others[n] != "ok"
    ]
    assert report["status"] == "error"
    entry: dict[str, Any] = report["connections"][BROKEN]
    assert entry["status"] == "error"
    assert set(entry["diagnosis"]) >= {"step", "status", "code", "outage", "problem", "fix"}
    assert entry["diagnosis"]["outage"] is False  # a person must change something
    return entry, report


def test_malformed_pfx(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PFX secret that is base64 but no PFX: step certificate, CertificateMalformed, re-import fix."""
    name = _fresh("ctx-garbage-pfx")
    _put_secret(devstack, name, "bm90IGEgcGZ4IGF0IGFsbA==", "application/x-pkcs12")
    entry, _ = _broken_report(monkeypatch, app_connection(devstack, "certificate", CERTIFICATE=name))
    diagnosis = entry["diagnosis"]
    assert (diagnosis["step"], diagnosis["code"]) == ("certificate", "CertificateMalformed")
    assert "PFX" in diagnosis["problem"]
    assert "Import the PFX into Key Vault" in diagnosis["fix"]


def test_pem_without_a_key(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PEM secret with only the (registered) certificate: step certificate, key missing, fix says so."""
    seeded = devstack.tenant.vault.latest_certificate("entra-automation-cert")
    assert seeded is not None
    name = _fresh("ctx-pem-no-key")
    _put_secret(
        devstack,
        name,
        seeded.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "application/x-pem-file",
    )
    entry, _ = _broken_report(monkeypatch, app_connection(devstack, "certificate", CERTIFICATE=name))
    diagnosis = entry["diagnosis"]
    assert (diagnosis["step"], diagnosis["code"]) == ("certificate", "CertificatePrivateKeyMissing")
    assert "no private key" in diagnosis["problem"]
    assert "with its private key" in diagnosis["fix"]


def test_expired_certificate(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """An expired certificate (even one registered on the app) fails before Entra: renew it in Key Vault."""
    name = _fresh("ctx-expired")
    _new_certificate(devstack, name, expired=True, registerOnApp=APP_ID)
    entry, _ = _broken_report(monkeypatch, app_connection(devstack, "certificate", CERTIFICATE=name))
    diagnosis = entry["diagnosis"]
    assert (diagnosis["step"], diagnosis["code"]) == ("certificate", "CertificateExpired")
    assert "expired on" in diagnosis["problem"]
    assert diagnosis["fix"].startswith("Renew it in Key Vault")


def test_certificate_unknown_to_the_app(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A vault certificate never registered on the app: AADSTS700027, fix names thumbprint and app."""
    name = _fresh("ctx-stray")
    thumbprint = str(_new_certificate(devstack, name)["sha1Thumbprint"]).upper()
    entry, _ = _broken_report(monkeypatch, app_connection(devstack, "certificate", CERTIFICATE=name))
    diagnosis = entry["diagnosis"]
    assert (diagnosis["step"], diagnosis["status"], diagnosis["code"]) == ("entra", 401, "AADSTS700027")
    assert f"thumbprint {thumbprint} is not registered on app {APP_ID}" in diagnosis["fix"]
    assert "upload it" in diagnosis["fix"]
    # The identity facts gathered before the failure are still shown (the certificate was readable).
    assert entry["certificate"]["thumbprintSha1"] == thumbprint


def test_secret_not_in_the_vault(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SECRET naming nothing in the vault: step key-vault, 404 SecretNotFound, fix names the setting."""
    name = _fresh("ctx-missing-secret")
    entry, _ = _broken_report(monkeypatch, app_connection(devstack, "client-secret", SECRET=name))
    diagnosis = entry["diagnosis"]
    assert (diagnosis["step"], diagnosis["status"], diagnosis["code"]) == ("key-vault", 404, "SecretNotFound")
    assert name in diagnosis["problem"]
    assert "Create it in the vault, or fix CONNECTIONS__BAD__SECRET" in diagnosis["fix"]


@pytest.mark.parametrize("kind", ["managed-identity", "client-secret", "federated-identity"])
def test_wrong_user_assigned_id(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """An identity not assigned to the app (as the connection, the vault reader or the federation): step
    identity-endpoint, 400, fix says to assign it and to use its client id."""
    other = next(i for i in devstack.tenant.identities if i.name == "id-other-workload")
    if kind == "managed-identity":
        fields = {"CREDENTIAL": kind, "CLIENT_ID": other.client_id}
    elif kind == "client-secret":
        fields = app_connection(
            devstack, kind, SECRET="entra-automation-secret", MANAGED_IDENTITY_CLIENT_ID=other.client_id
        )
    else:
        fields = app_connection(devstack, kind, MANAGED_IDENTITY_CLIENT_ID=other.client_id)
    entry, _ = _broken_report(monkeypatch, fields)
    diagnosis = entry["diagnosis"]
    assert (diagnosis["step"], diagnosis["status"], diagnosis["code"]) == (
        "identity-endpoint",
        400,
        "identity_not_assigned",
    )
    assert other.client_id in diagnosis["problem"]
    assert "holds a client id: check that a user-assigned identity with that client id" in diagnosis["fix"]
    assert "AZURE_MANAGED_IDENTITY_OBJECT_ID" in diagnosis["fix"]
