"""No token, secret, private key, identity header or assertion appears in logs, errors, reprs or pages."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import azure.functions as func
import pytest
from cryptography.hazmat.primitives import serialization

import function_app
from devstack.offline_tenant import OfflineTenant
from shared import errors
from shared.identity import connection, reset_connections
from shared.identity.managed_identity import ManagedIdentityCredential
from tests.app_env import app_connection, clear_faults, configure, fault

LOGGERS = ("azure", "msal", "urllib3", "requests", "shared", "")


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture, devstack: OfflineTenant) -> Iterator[None]:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    yield
    clear_faults(devstack)
    reset_connections()


def test_nothing_secret_leaks(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """DEBUG logs, exception texts, reprs, /api/context and the status page hold none of the secrets."""
    configure(
        monkeypatch,
        devstack,
        {
            "mi": {"CREDENTIAL": "managed-identity"},
            "cert": app_connection(devstack, "certificate", CERTIFICATE="entra-automation-cert"),
            "secret": app_connection(devstack, "client-secret", SECRET="entra-automation-secret"),
            "fed": app_connection(devstack, "federated-identity"),
            "kvkey": app_connection(devstack, "keyvault-key", KEY="entra-automation-signing"),
            "missing": app_connection(devstack, "client-secret", SECRET="no-such-secret"),
        },
        TOKEN_DEADLINE_SECONDS="2",
    )
    texts: list[str] = []
    secrets: list[str] = []
    for name in ("mi", "cert", "secret", "fed", "kvkey"):
        conn = connection(name)
        info = conn.token("https://graph.microsoft.com")
        secrets.append(info.value)
        texts += [repr(info), repr(conn), repr(conn.facts), str(conn.facts)]
    kvkey = connection("kvkey")._credential
    secrets.append(kvkey.assertion())  # type: ignore[attr-defined,unused-ignore]
    mi = ManagedIdentityCredential(connection("fed").settings.managed_identity)
    secrets.append(mi.fetch("api://AzureADTokenExchange/.default").value)  # the federated assertion
    for name in ("missing",):
        with pytest.raises(errors.AutomationError) as info_missing:
            connection(name).token("https://graph.microsoft.com")
        texts += [str(info_missing.value), repr(info_missing.value), str(info_missing.value.to_dict())]
    # What operators read: /api/context and the status page, with a connection failing among them.
    for route, handler in (("context", function_app.context), ("status", function_app.status)):
        answer = handler(
            func.HttpRequest("GET", f"http://localhost/api/{route}", headers={}, params={}, body=b"")
        )
        assert answer.status_code == 200
        texts.append(answer.get_body().decode())
        assert {"kvkey", "missing"} <= set(re.findall(r"\w+", texts[-1]))  # every connection is on it
    fault(devstack, "identity", match="/msi/token", status=500, times=1000)
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "1")
    with pytest.raises(errors.IdentityUnavailableError) as info_outage:
        connection("mi").token("arm")
    texts += [str(info_outage.value), repr(info_outage.value)]

    vault = devstack.tenant.vault
    secret = vault.latest_secret("entra-automation-secret")
    assert secret is not None
    secrets.append(secret.value)
    for key_name in ("entra-automation-cert", "entra-automation-signing"):
        key = vault.latest_key(key_name)
        assert key is not None
        pem = key.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        secrets += [line for line in pem.splitlines() if not line.startswith("-----")][1:4]
    cert_secret = vault.latest_secret("entra-automation-cert")
    assert cert_secret is not None
    secrets.append(cert_secret.value[200:260])
    secrets.append(devstack.identity_header)

    haystack = "\n".join([caplog.text, *texts, *(r.getMessage() for r in caplog.records)])
    assert len(caplog.records) > 10  # the SDKs did log at DEBUG
    leaked = [s[:12] + "..." for s in secrets if s and s in haystack]
    assert leaked == []
