"""Key Vault refuses malformed bodies and tokens with its own 400/401, no Python text, no echo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.offline_tenant import OfflineTenant

API = {"api-version": "7.6"}
VAULT = "https://vault.azure.net"
EXCEPTION_WORDS = ("Incorrect padding", "Traceback", "Expecting", "invalid literal", "NoneType", "Error(")


@pytest.fixture(scope="module")
def officer(devstack: OfflineTenant) -> Iterator[dict[str, str]]:
    """A bearer header of an identity with every vault data action (granted for this module)."""
    mi = next(i for i in devstack.tenant.identities if i.name == "id-other-workload")
    roles = devstack.tenant.vault_roles.setdefault(mi.object_id, set())
    added = "Key Vault Administrator" not in roles
    roles.add("Key Vault Administrator")
    token, _ = devstack.tenant.issuer.issue(mi.principal(), VAULT)
    yield {"Authorization": f"Bearer {token}"}
    if added:
        roles.discard("Key Vault Administrator")


def _assert_bad_parameter(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "BadParameter"
    assert not any(word in body["error"]["message"] for word in EXCEPTION_WORDS)


def _kv(devstack: OfflineTenant) -> str:
    return devstack.servers["keyvault"].url


DEEP = ("[" * 5000 + "]" * 5000).encode()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/secrets/hardening-x", DEEP),
        ("/secrets/hardening-x", b'{"value": "v", "tags": ' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"}"),
        ("/secrets/hardening-x", {"value": "v", "tags": ["a"]}),
        ("/secrets/hardening-x", {"value": "v", "tags": {"a": 1}}),
        ("/secrets/hardening-x", {"value": "v", "tags": {f"t{i}": "v" for i in range(16)}}),
        ("/secrets/hardening-x", {"value": "v", "attributes": "yes"}),
        ("/secrets/hardening-x", {"value": "v", "attributes": {"enabled": "yes"}}),
        ("/secrets/hardening-x", {"value": "v", "attributes": {"exp": 1e300}}),
        ("/secrets/hardening-x", {"value": "v", "contentType": 5}),
        ("/secrets/hardening-x", {"value": "x" * 30000}),
        ("/secrets/hardening-x", b'{"value": "\\ud800"}'),
        ("/certificates/hardening-c/import", {"value": "!!notbase64!!"}),
        ("/certificates/hardening-c/import", {"value": "QUJD"}),
        ("/certificates/hardening-c/import", {"value": "abc", "policy": "p"}),
        ("/certificates/hardening-c/import", {"value": "abc", "policy": {"key_props": []}}),
        (
            "/certificates/hardening-c/import",
            {"value": "abc", "policy": {"secret_props": {"contentType": 1}}},
        ),
        ("/certificates/hardening-c/import", {"value": "abc", "pwd": 5}),
        ("/certificates/hardening-c/create", {"policy": {"x509_props": {"validity_months": "twelve"}}}),
        ("/certificates/hardening-c/create", {"policy": {"x509_props": {"validity_months": 10**9}}}),
        ("/certificates/hardening-c/create", {"policy": {"x509_props": {"subject": "CN=" + "a" * 65}}}),
        ("/certificates/hardening-c/create", {"policy": {"x509_props": []}}),
        ("/certificates/hardening-c/create", {"policy": {"secret_props": {"contentType": "text/plain"}}}),
        ("/keys/entra-automation-signing/sign", {"alg": "RS256", "value": "!!"}),
        ("/keys/entra-automation-signing/sign", {"alg": ["RS256"], "value": "AAAA"}),
        ("/keys/entra-automation-signing/sign", {"alg": "RS256", "value": 12}),
    ],
)
def test_bad_bodies_are_bad_parameter(
    devstack: OfflineTenant, http: requests.Session, officer: dict[str, str], path: str, body: Any
) -> None:
    """Deep JSON, wrong types in tags/policy/attributes and undecodable values: 400 BadParameter."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    method = "PUT" if path.startswith("/secrets") else "POST"
    response = http.request(
        method,
        f"{_kv(devstack)}{path}",
        params=API,
        data=data,
        headers={**officer, "Content-Type": "application/json"},
    )
    _assert_bad_parameter(response)


def test_negative_skiptoken_is_bad_parameter(
    devstack: OfflineTenant, http: requests.Session, officer: dict[str, str]
) -> None:
    """A list page cannot start before the first item."""
    response = http.get(f"{_kv(devstack)}/secrets", params={**API, "$skiptoken": "-3"}, headers=officer)
    _assert_bad_parameter(response)


@pytest.mark.parametrize(
    "bearer", ["tok3nSECRET-not-a-jwt", "hdrSECRET.bodySECRET.sigSECRET", "eyJSECRETx.eyJ.sig"]
)
def test_malformed_bearer_is_not_echoed(devstack: OfflineTenant, http: requests.Session, bearer: str) -> None:
    """A bearer value that is not a JWT gets 401 with the challenge and without the value itself."""
    response = http.get(f"{_kv(devstack)}/secrets", params=API, headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization=")
    assert response.json()["error"]["code"] == "Unauthorized"
    assert bearer not in response.text
    assert bearer.split(".")[0] not in response.text


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/_devstack/secrets/hardening-s", "PUT", b"{"),
        ("/_devstack/secrets/hardening-s", "PUT", b'{"value": "v", "tags": [1]}'),
        ("/_devstack/secrets/hardening-s", "PUT", DEEP),
        ("/_devstack/certificates/hardening-c", "POST", b'{"notBefore": "yesterday"}'),
        ("/_devstack/certificates/hardening-c", "POST", b'{"validDays": "many"}'),
        ("/_devstack/certificates/hardening-c", "POST", b'{"validDays": 100000000}'),
        ("/_devstack/certificates/hardening-c", "POST", b'{"subject": "CN=' + b"a" * 70 + b'"}'),
        ("/_devstack/certificates/hardening-c", "POST", b'{"exportable": "no"}'),
        ("/_devstack/certificates/hardening-c", "POST", b'{"notAfter": "0001-01-01T00:00:00"}'),
    ],
)
def test_control_endpoints_answer_problems(
    devstack: OfflineTenant, http: requests.Session, path: str, method: str, body: bytes
) -> None:
    """Key Vault's control endpoints refuse bad JSON with a problem+json 400, never a 500 page."""
    response = http.request(method, f"{_kv(devstack)}{path}", data=body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert not any(word in response.text for word in EXCEPTION_WORDS)
    assert "Invalid isoformat" not in response.text
