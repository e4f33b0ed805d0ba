"""The certificate bootstrap against the Key Vault, Entra and Graph emulators, signed in as the deployer."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from azure.identity import AzureCliCredential
from azure.keyvault.certificates import CertificateClient

from devstack.offline_tenant import OfflineTenant
from shared.certificates import ADD_KEY, PATCH, BootstrapError, bootstrap
from shared.certificates.__main__ import main
from shared.errors import ConfigurationError
from shared.identity import connection, reset_connections
from tests import caller_tokens as ct
from tests.app.certificates.support import app_keys, new_app, operations, writes
from tests.app.context.support import call_context
from tests.conftest import tls_session

JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


def test_from_nothing_the_deployer_creates_and_registers_then_a_second_run_changes_nothing(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """From nothing (the app has only an expired key): create, PATCH keeping it, tokens work; twice: no-op."""
    app = new_app(devstack)
    name = configure("boot", "certificate", app["appId"], subject="CN=bootstrap test", validity_months="6")
    expired = http.post(
        f"{devstack.servers['keyvault'].url}/_devstack/certificates/{name}-old",
        json={"expired": True, "registerOnApp": app["appId"]},
        timeout=10,
    )
    assert expired.status_code == 201, expired.text
    old = str(expired.json()["sha1Thumbprint"]).upper()
    operations(devstack, http, reset=True)

    assert main(["bootstrap"]) == 0
    out = capsys.readouterr()
    assert "boot: created certificate" in out.out
    assert "CN=bootstrap test, self-signed, RSA 2048, exportable, 6 months" in out.out
    assert "by updating keyCredentials as the deployer" in out.out
    assert "1 existing key(s) kept" in out.out
    assert "eyJ" not in out.out + out.err  # no token (nor any JWT) printed
    assert "PRIVATE KEY" not in out.out + out.err
    first_run = operations(devstack, http)
    assert writes(first_run) == {"CreateCertificate": 1, "UpdateApplication": 1}
    keys = app_keys(devstack, http, app["appId"])
    new = next(t for t in keys if t != old)
    assert set(keys) == {old, new}  # PATCH replaced the collection, and the expired key is still there
    assert f"boot: thumbprint {new}" in out.out

    reset_connections()  # the app, as the Function App would: managed identity reads Key Vault
    assert connection("boot").token("graph").value
    status, _, body = call_context("connection=boot")
    assert status == 200
    certificate = body["connections"]["boot"]["certificate"]
    assert str(certificate["thumbprintSha1"]).upper() == new
    assert certificate["name"] == name
    assert 150 <= certificate["daysLeft"] <= 190  # six months

    operations(devstack, http, reset=True)
    again = bootstrap(["boot"])
    assert [o.changed for o in again] == [False]
    assert again[0].thumbprint == new
    assert "boot: unchanged" in again[0].lines()[0]
    second_run = operations(devstack, http)
    assert writes(second_run) == {}
    assert set(app_keys(devstack, http, app["appId"])) == {old, new}
    print(f"\nbootstrap requests: first run {first_run}, second run {second_run}")


@pytest.mark.parametrize(
    ("first", "second"), [("certificate", "keyvault-key"), ("keyvault-key", "certificate")]
)
def test_an_app_with_a_valid_certificate_registers_the_next_with_add_key(
    first: str,
    second: str,
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
) -> None:
    """The second connection of an app gets addKey as the app itself, the proof signed by the first's key."""
    app = new_app(devstack)
    name = configure("one", first, app["appId"])
    [made] = bootstrap(["one"])
    assert made.registered == PATCH
    # No policy settings: the defaults (self-signed, RSA 2048, 12 months; exportable per kind).
    exportable = "exportable" if first == "certificate" else "non-exportable"
    assert made.policy == f"CN={name}, self-signed, RSA 2048, {exportable}, 12 months"
    issued = devstack.tenant.vault.latest_certificate(name)
    assert issued is not None
    lifetime = issued.certificate.not_valid_after_utc - issued.certificate.not_valid_before_utc
    assert 360 <= lifetime.days <= 367
    configure("two", second, app["appId"])
    operations(devstack, http, reset=True)

    [added] = bootstrap(["two"])
    assert added.created
    assert added.registered == ADD_KEY
    assert added.signed_by == made.thumbprint
    found = operations(devstack, http)
    assert writes(found) == {"CreateCertificate": 1, "AddKey": 1}
    if first == "keyvault-key":
        assert found.get("Sign", 0) >= 2  # Key Vault signed the app's client assertion and the proof
    assert set(app_keys(devstack, http, app["appId"])) == {made.thumbprint, added.thumbprint}
    reset_connections()
    assert connection("two").token("graph").value


def test_a_keyvault_key_connection_gets_a_non_exportable_key_that_signs_for_tokens(
    devstack: OfflineTenant, deployer: str, configure: Callable[..., str]
) -> None:
    """keyvault-key: the policy is non-exportable; the connection's tokens are signed by the vault."""
    app = new_app(devstack)
    name = configure("kv", "keyvault-key", app["appId"], key_size="3072", validity_months="24")
    [done] = bootstrap()
    assert done.created
    assert "RSA 3072, non-exportable, 24 months" in done.policy
    client = CertificateClient(
        devstack.servers["keyvault"].url,
        AzureCliCredential(),
        verify_challenge_resource=False,
        connection_verify=devstack.state()["caBundle"],
    )
    policy = client.get_certificate_policy(name)
    assert policy.exportable is False
    assert policy.key_size == 3072
    reset_connections()
    assert connection("kv").token("graph").value


def test_dry_run_reads_and_changes_nothing(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--dry-run says it would create and register, writes nothing, and the JSON names no secret."""
    app = new_app(devstack)
    configure("dry", "certificate", app["appId"])
    operations(devstack, http, reset=True)
    assert main(["bootstrap", "--dry-run", "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    [item] = report["connections"]
    assert item["dryRun"] is True
    assert item["created"] is True
    assert item["registered"] == PATCH
    assert item["thumbprint"] is None
    assert writes(operations(devstack, http)) == {}
    assert app_keys(devstack, http, app["appId"]) == {}


def test_a_device_code_sign_in_works_as_well(
    devstack: OfflineTenant, deployer: str, configure: Callable[..., str]
) -> None:
    """--sign-in device-code: the prompt shows a code, the deployer signs in, the bootstrap goes on."""
    app = new_app(devstack)
    configure("dc", "certificate", app["appId"])
    prompts: list[str] = []

    def sign_in(uri: str, code: str, expires_on: object) -> None:
        prompts.append(uri)
        with tls_session(devstack.state()["caBundle"]) as http:
            approved = http.post(
                f"{devstack.servers['entra'].url}/_devstack/devicecode",
                json={"userCode": code, "user": ct.ADELE},
                timeout=10,
            )
            assert approved.status_code == 200

    [done] = bootstrap(how="device-code", prompt=sign_in)
    assert done.registered == PATCH
    # One sign-in per resource (Key Vault, Graph): the devstack's Entra issues no refresh token.
    assert set(prompts) == {"https://microsoft.com/devicelogin"}


def test_a_deployer_who_does_not_own_the_app_gets_graph_403_with_a_hint(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    vault_role: Callable[[str, str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Alex may use the vault but does not own the app: the register step fails 403, saying what to grant."""
    app = new_app(devstack)  # owned by Adele
    configure("alex", "certificate", app["appId"])
    vault_role(ct.ALEX, "Key Vault Certificates Officer")
    monkeypatch.setenv("FAKE_AZ_USER", ct.ALEX)
    with pytest.raises(BootstrapError) as caught:
        bootstrap()
    error = caught.value
    assert error.step == "bootstrap:register"
    assert error.status == 403
    assert error.code == "Authorization_RequestDenied"
    assert error.hint is not None
    assert "owner of the app registration" in error.hint
    assert "Application Administrator" in error.hint
    assert main(["bootstrap"]) == 1  # the certificate exists now: still the same refusal, as a command
    err = capsys.readouterr().err
    assert "step register failed" in err
    assert "hint:" in err
    assert "eyJ" not in err


def test_a_deployer_without_vault_roles_is_told_which_to_grant(
    devstack: OfflineTenant, deployer: str, configure: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployer with no Key Vault role: the read step fails 403 naming Key Vault Certificates Officer."""
    app = new_app(devstack)
    configure("novault", "certificate", app["appId"])
    monkeypatch.setenv("FAKE_AZ_USER", "user001@contoso.onmicrosoft.com")
    with pytest.raises(BootstrapError) as caught:
        bootstrap()
    error = caught.value
    assert error.step == "bootstrap:read"
    assert error.status == 403
    assert error.hint is not None
    assert "Key Vault Certificates Officer" in error.hint
    assert "Azure CLI" in error.hint


def test_a_deployer_who_is_not_signed_in_is_told_to_sign_in(
    devstack: OfflineTenant, deployer: str, configure: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`az` without a sign-in: the error says az login, before anything is read or written."""
    app = new_app(devstack)
    configure("nosign", "certificate", app["appId"])
    monkeypatch.delenv("FAKE_AZ_USER")
    with pytest.raises(BootstrapError) as caught:
        bootstrap()
    assert caught.value.step == "bootstrap:read"
    assert "az login" in str(caught.value)


def test_bad_policy_settings_are_refused_before_any_change(
    devstack: OfflineTenant, deployer: str, configure: Callable[..., str], http: requests.Session
) -> None:
    """A 1024-bit key, 0 months, a bad subject or issuer: ConfigurationError naming the setting, no change."""
    app = new_app(devstack)
    keys = app_keys(devstack, http, app["appId"])
    names = []
    configure("weak", "certificate", app["appId"], key_size="1024")
    with pytest.raises(ConfigurationError, match="CERTIFICATES__WEAK__KEY_SIZE must be one of 2048, 3072"):
        bootstrap()
    configure("weak", "certificate", app["appId"], key_size="2048", validity_months="0")
    with pytest.raises(ConfigurationError, match="CERTIFICATES__WEAK__VALIDITY_MONTHS must be 1 to 120"):
        bootstrap()
    for field, value, says in (
        ("subject", "my app", "CERTIFICATES__WEAK__SUBJECT must be an X.509 subject"),
        ("issuer", "no such/issuer", "CERTIFICATES__WEAK__ISSUER must name a Key Vault issuer"),
        ("issuer", "Unknown", "CERTIFICATES__WEAK__ISSUER is Unknown"),
    ):
        good = {"subject": "CN=weak", "issuer": "Self", "validity_months": "12"}
        names.append(configure("weak", "certificate", app["appId"], **{**good, field: value}))
        with pytest.raises(ConfigurationError, match=says):
            bootstrap()
    assert app_keys(devstack, http, app["appId"]) == keys
    assert [n for n in names if devstack.tenant.vault.latest_certificate(n) is not None] == []


def test_an_unknown_client_id_is_named_with_its_setting(
    devstack: OfflineTenant, deployer: str, configure: Callable[..., str]
) -> None:
    """A client id with no app registration: the read step fails 404 naming CONNECTIONS__<NAME>__CLIENT_ID."""
    configure("ghost", "certificate", str(uuid.uuid4()))
    with pytest.raises(BootstrapError) as caught:
        bootstrap()
    assert caught.value.step == "bootstrap:read"
    assert caught.value.status == 404
    assert caught.value.hint is not None
    assert "CONNECTIONS__GHOST__CLIENT_ID" in caught.value.hint


def test_an_expired_certificate_in_the_vault_is_not_registered(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
) -> None:
    """The vault holds only an expired version: nothing is registered, and the hint says to renew first."""
    app = new_app(devstack)
    name = configure("stale", "certificate", app["appId"])
    made = http.post(
        f"{devstack.servers['keyvault'].url}/_devstack/certificates/{name}",
        json={"expired": True},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    with pytest.raises(BootstrapError, match="expired on") as caught:
        bootstrap()
    assert caught.value.hint is not None
    assert "certificate-rotation" in caught.value.hint
    assert app_keys(devstack, http, app["appId"]) == {}


def test_no_token_key_or_proof_in_the_logs(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """DEBUG logs of both paths (PATCH, then addKey with a proof and an app token) hold no JWT or key."""
    app = new_app(devstack)
    for name in ("azure", "msal", "urllib3", "requests", "shared"):
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    first = configure("logged", "certificate", app["appId"])
    configure("logged2", "certificate", app["appId"])
    assert main(["bootstrap"]) == 0
    pfx = devstack.tenant.vault.secret_version(first)
    assert pfx is not None
    seen = caplog.text + capsys.readouterr().out
    assert "addKey" in seen  # the second connection took the addKey path
    assert JWT.search(seen) is None  # no token, client assertion or addKey proof
    assert "PRIVATE KEY" not in seen
    assert pfx.value[:40] not in seen
