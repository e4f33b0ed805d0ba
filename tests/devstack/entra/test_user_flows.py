"""Entra emulator: the device code flow for msal public clients, v1/v2 API tokens per the API's
accessTokenAcceptedVersion, app-only tokens with app roles for a caller app, key rollover."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from tests import caller_tokens as ct
from tests.conftest import tls_session


@pytest.fixture
def entra(devstack: OfflineTenant) -> str:
    return str(devstack.servers["entra"].url)


@pytest.fixture
def s(ca_bundle: str) -> Iterator[requests.Session]:
    with tls_session(ca_bundle) as session:
        yield session


def _start(s: requests.Session, entra: str, tenant: str, **form: str) -> requests.Response:
    return s.post(f"{entra}/{tenant}/oauth2/v2.0/devicecode", data=form, timeout=10)


def _poll(
    s: requests.Session, entra: str, tenant: str, device_code: str, client: str = ct.AZURE_CLI
) -> requests.Response:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": client,
        "device_code": device_code,
    }
    return s.post(f"{entra}/{tenant}/oauth2/v2.0/token", data=form, timeout=10)


def test_openid_configuration_names_the_device_endpoint(
    s: requests.Session, entra: str, devstack: OfflineTenant
) -> None:
    """The published device_authorization_endpoint is the one that answers."""
    tid = devstack.tenant.tenant_id
    config = s.get(f"{entra}/{tid}/v2.0/.well-known/openid-configuration", timeout=10).json()
    assert config["device_authorization_endpoint"] == f"{entra}/{tid}/oauth2/v2.0/devicecode"


def test_device_flow_pending_then_signed_in(s: requests.Session, entra: str, devstack: OfflineTenant) -> None:
    """Polling says authorization_pending (AADSTS70016) until the control endpoint signs the user in."""
    tid = devstack.tenant.tenant_id
    flow = _start(
        s, entra, tid, client_id=ct.AZURE_CLI, scope=f"{ct.API_SCOPE} offline_access openid profile"
    ).json()
    assert {"user_code", "device_code", "verification_uri", "expires_in", "interval", "message"} <= set(flow)
    pending = _poll(s, entra, tid, flow["device_code"])
    assert pending.status_code == 400
    assert pending.json()["error"] == "authorization_pending"
    assert pending.json()["error_codes"] == [70016]
    approved = s.post(
        f"{entra}/_devstack/devicecode", json={"userCode": flow["user_code"], "user": ct.ADELE}, timeout=10
    )
    assert approved.status_code == 200
    tokens = _poll(s, entra, tid, flow["device_code"]).json()
    claims = ct.decode(tokens["access_token"])
    assert claims["aud"] == ct.API_APP  # v2: the client id
    assert claims["ver"] == "2.0"
    assert claims["scp"] == "access_as_user"
    assert claims["upn"] == ct.ADELE
    assert claims["roles"] == ["GroupMembers.Manage", "Sessions.Revoke"]
    assert claims["azp"] == ct.AZURE_CLI
    assert claims["idtyp"] == "user"
    # A device code is redeemed once.
    assert _poll(s, entra, tid, flow["device_code"]).json()["error"] == "invalid_grant"


def test_declined_and_unknown_codes(s: requests.Session, entra: str, devstack: OfflineTenant) -> None:
    """A declined sign-in is authorization_declined; a code never issued invalid_grant; unknown users 404."""
    tid = devstack.tenant.tenant_id
    flow = _start(s, entra, tid, client_id=ct.AZURE_CLI, scope=ct.API_SCOPE).json()
    missing = s.post(
        f"{entra}/_devstack/devicecode", json={"userCode": flow["user_code"], "user": "nobody"}, timeout=10
    )
    assert missing.status_code == 404
    s.post(
        f"{entra}/_devstack/devicecode",
        json={"userCode": flow["user_code"], "user": ct.ALEX, "deny": True},
        timeout=10,
    ).raise_for_status()
    assert _poll(s, entra, tid, flow["device_code"]).json()["error"] == "authorization_declined"
    assert _poll(s, entra, tid, "never-issued").json()["error"] == "invalid_grant"
    bad = s.post(f"{entra}/_devstack/devicecode", data=b"not json", timeout=10)
    assert bad.status_code == 400


def test_confidential_client_cannot_redeem_without_a_credential(
    s: requests.Session, entra: str, devstack: OfflineTenant
) -> None:
    """A device code for a confidential (non-public) client needs its credential: 401 invalid_client."""
    tid = devstack.tenant.tenant_id
    flow = _start(s, entra, tid, client_id=ct.CALLER_APP, scope=ct.API_SCOPE).json()
    s.post(
        f"{entra}/_devstack/devicecode", json={"userCode": flow["user_code"], "user": ct.ADELE}, timeout=10
    )
    refused = _poll(s, entra, tid, flow["device_code"], client=ct.CALLER_APP)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_unknown_client_is_700016(s: requests.Session, entra: str, devstack: OfflineTenant) -> None:
    """Starting a device flow for an unknown client is Entra's application-not-found error."""
    answer = _start(
        s, entra, devstack.tenant.tenant_id, client_id="11111111-2222-3333-4444-555555555555", scope="x"
    )
    assert answer.json()["error_codes"] == [700016]


def test_msal_public_client_signs_in_with_device_code(
    devstack: OfflineTenant, entra: str, ca_bundle: str
) -> None:
    """msal's PublicClientApplication completes initiate_device_flow / acquire_token_by_device_flow."""
    token = ct.user_token(entra, devstack.tenant.tenant_id, ca_bundle, ct.ALEX, fresh=True)
    claims = ct.decode(token)
    assert claims["upn"] == ct.ALEX
    assert "roles" not in claims


def test_v1_tokens_when_the_api_accepts_version_1(
    devstack: OfflineTenant, entra: str, ca_bundle: str
) -> None:
    """With accessTokenAcceptedVersion 1 the token is v1: v1 issuer, api:// audience, appid, unique_name."""
    app = devstack.tenant.app(ct.API_APP)
    assert app is not None
    app.access_token_version = 1
    try:
        claims = ct.decode(ct.user_token(entra, devstack.tenant.tenant_id, ca_bundle, ct.ADELE, fresh=True))
    finally:
        app.access_token_version = 2
    assert claims["ver"] == "1.0"
    assert claims["iss"] == f"{entra}/{devstack.tenant.tenant_id}/"
    assert claims["aud"] == f"api://{ct.API_APP}"
    assert claims["appid"] == ct.AZURE_CLI
    assert "azp" not in claims
    assert claims["unique_name"] == ct.ADELE


def test_caller_app_gets_its_app_roles(devstack: OfflineTenant, entra: str, ca_bundle: str) -> None:
    """Client credentials for the API give the caller app its assigned app roles, idtyp app, no scp."""
    secret = devstack.tenant.vault.latest_secret("automation-caller-secret")
    assert secret is not None
    claims = ct.decode(ct.app_token(entra, devstack.tenant.tenant_id, ca_bundle, ct.CALLER_APP, secret.value))
    assert claims["roles"] == ["GroupMembers.Manage", "Sessions.Revoke"]
    assert claims["idtyp"] == "app"
    assert claims["aud"] == ct.API_APP
    assert "scp" not in claims


def test_key_rollover_publishes_both_keys(s: requests.Session, entra: str, devstack: OfflineTenant) -> None:
    """After a rollover the JWKS lists the new key beside the old; new tokens use the new kid."""
    tid = devstack.tenant.tenant_id
    before = {k["kid"] for k in s.get(f"{entra}/{tid}/discovery/v2.0/keys", timeout=10).json()["keys"]}
    new_kid = s.post(f"{entra}/_devstack/keys/rotate", timeout=10).json()["kid"]
    after = {k["kid"] for k in s.get(f"{entra}/{tid}/discovery/v2.0/keys", timeout=10).json()["keys"]}
    assert after == before | {new_kid}
    assert devstack.tenant.issuer.kid == new_kid
