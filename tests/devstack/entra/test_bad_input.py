"""Entra refuses malformed client assertions and bodies with its own AADSTS codes, never a 5xx."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.pki import b64url

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def _token_url(stack: OfflineTenant) -> str:
    return f"{stack.servers['entra'].url}/{stack.tenant.tenant_id}/oauth2/v2.0/token"


def _assertion(stack: OfflineTenant, **times: Any) -> str:
    """An assertion signed with the app's registered certificate, with the given time claims."""
    app = stack.tenant.app_by_name("entra-automation")
    key = stack.tenant.vault.latest_key("entra-automation-cert")
    cert = stack.tenant.vault.certificate_version("entra-automation-cert")
    assert app is not None
    assert key is not None
    assert cert is not None
    der = cert.certificate.public_bytes(serialization.Encoding.DER)
    now = time.time()
    claims = {"aud": _token_url(stack), "iss": app.app_id, "sub": app.app_id, "jti": "j"}
    claims |= {"exp": now + 600, "nbf": now, "iat": now} | times
    payload = json.dumps(claims).encode()  # json writes NaN and Infinity as the bare words
    x5t = b64url(hashlib.sha1(der, usedforsecurity=False).digest())
    return jwt.api_jws.encode(payload, key.key, algorithm="RS256", headers={"x5t": x5t})


def _post(stack: OfflineTenant, http: requests.Session, assertion: str) -> requests.Response:
    app = stack.tenant.app_by_name("entra-automation")
    assert app is not None
    form = {
        "grant_type": "client_credentials",
        "client_id": app.app_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": GRAPH_DEFAULT,
    }
    return http.post(_token_url(stack), data=form)


def test_a_well_formed_assertion_is_accepted(devstack: OfflineTenant, http: requests.Session) -> None:
    """The helper's assertion is good: with sane times it gets a token (so the refusals below mean it)."""
    assert _post(devstack, http, _assertion(devstack)).status_code == 200


@pytest.mark.parametrize(
    "times",
    [
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"exp": 1e20},
        {"exp": str(int(time.time()) + 600)},
        {"exp": True},
        {"exp": None},
        {"nbf": float("-inf")},
        {"nbf": 1e20},
        {"nbf": -1e20},
        {"iat": "yesterday"},
        {"nbf": [1]},
    ],
    ids=[
        "exp NaN",
        "exp Infinity",
        "exp 1e20",
        "exp string",
        "exp true",
        "exp null",
        "nbf -Infinity",
        "nbf 1e20",
        "nbf -1e20",
        "iat string",
        "nbf list",
    ],
)
def test_time_claims_must_be_numeric_dates(
    devstack: OfflineTenant, http: requests.Session, times: dict[str, Any]
) -> None:
    """A time claim that is not a finite number in range is AADSTS50027, never a token or a 500."""
    response = _post(devstack, http, _assertion(devstack, **times))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert body["error_codes"] == [50027]


def test_assertion_expired_long_ago_is_700024(devstack: OfflineTenant, http: requests.Session) -> None:
    """A finite but past exp is the time-range error with Entra's dates, not a crash."""
    response = _post(devstack, http, _assertion(devstack, exp=1.0, nbf=0, iat=0))
    assert response.status_code == 401
    assert response.json()["error_codes"] == [700024]


def test_multipart_body_of_1100_parts_is_not_a_form(devstack: OfflineTenant, http: requests.Session) -> None:
    """Entra reads only urlencoded forms: a huge multipart body is a missing grant_type (900144)."""
    parts = "".join(f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n' for i in range(1100))
    response = http.post(
        _token_url(devstack),
        data=(parts + "--b--\r\n").encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [900144]


def test_json_body_is_not_a_form(devstack: OfflineTenant, http: requests.Session) -> None:
    """A JSON body carries no token parameters for Entra: 900144 grant_type."""
    response = http.post(_token_url(devstack), json={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert "'grant_type'" in response.json()["error_description"]


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"audience": 5}',
        b'{"audience": "a", "expiresIn": "x"}',
        b'{"audience": "a", "scopes": "x"}',
        b'{"audience": "a", "expiresIn": 1e300}',
    ],
)
def test_user_token_control_refuses_bad_json_as_problem(
    devstack: OfflineTenant, http: requests.Session, body: bytes
) -> None:
    """POST /_devstack/users/{upn}/token with bad JSON is a 400 problem, without Python's words."""
    upn = devstack.tenant.users[0].user_principal_name
    response = http.post(f"{devstack.servers['entra'].url}/_devstack/users/{upn}/token", data=body)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Expecting" not in response.text
    assert "invalid literal" not in response.text
