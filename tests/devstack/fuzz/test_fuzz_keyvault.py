"""Fuzz: Key Vault answers every data-plane request in its error shape (`BadParameter` for bad input)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.devstack.fuzz.conftest import FuzzTenant
from tests.devstack.fuzz.support import (
    CONTENT_TYPES,
    FAKE_JWTS,
    FUZZ,
    JSON_VALUES,
    METHODS,
    SEGMENT,
    Call,
    b64url,
    bodies,
    check,
    header_sets,
    near,
    objects,
    queries,
    send,
)

NAMES = st.sampled_from(["entra-automation-cert", "entra-automation-signing", "fuzz-1", "a" * 128]) | SEGMENT
PATHS = [
    "/secrets",
    "/secrets/{n}",
    "/secrets/{n}/",
    "/secrets/{n}/{v}",
    "/secrets/{n}/versions",
    "/keys/{n}/",
    "/keys/{n}/{v}",
    "/keys/{n}/sign",
    "/keys/{n}//sign",
    "/keys/{n}/{v}/sign",
    "/certificates",
    "/certificates/{n}/",
    "/certificates/{n}/{v}",
    "/certificates/{n}/versions",
    "/certificates/{n}/policy",
    "/certificates/{n}/pending",
    "/certificates/{n}/import",
    "/certificates/{n}/create",
    "/{n}",
]
POLICY = objects(
    ["key_props", "secret_props", "x509_props", "issuer"],
    objects(["exportable", "contentType", "subject", "validity_months", "kty"]) | JSON_VALUES,
)
BODY_SHAPES = objects(
    ["value", "contentType", "tags", "attributes", "policy", "pwd", "alg"],
    JSON_VALUES | POLICY | objects(["enabled", "nbf", "exp"]) | st.sampled_from(["RS256", "AAAA", "!!"]),
)


def keyvault_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    if status == 401:
        assert body["error"]["code"] == "Unauthorized"


OPERATIONS = [
    ("PUT", "/secrets/{n}"),
    ("PUT", "/secrets/{n}"),
    ("POST", "/keys/{n}/sign"),
    ("POST", "/keys/{n}/{v}/sign"),
    ("POST", "/certificates/{n}/import"),
    ("POST", "/certificates/{n}/create"),
    ("POST", "/keys/{n}/decrypt"),
    ("POST", "/keys/{n}/{v}/unwrapkey"),
    ("GET", "/secrets"),
    ("GET", "/secrets/{n}/"),
    ("GET", "/secrets/{n}/{v}"),
    ("GET", "/secrets/{n}/versions"),
    ("GET", "/keys/{n}/"),
    ("GET", "/certificates"),
    ("GET", "/certificates/{n}/policy"),
    ("GET", "/certificates/{n}/versions"),
]


WRITES = OPERATIONS[:8]


@st.composite
def calls(draw: st.DrawFn, fuzz: FuzzTenant, *, writes: bool = False) -> Call:
    """`writes`: a body-reading operation, authorized, with a body near a valid one. Else anything."""
    if writes:
        method, template = draw(st.sampled_from(WRITES))
    elif draw(st.integers(0, 9)) < 7:
        method, template = draw(st.sampled_from(OPERATIONS))
    else:
        method, template = draw(METHODS), draw(st.sampled_from(PATHS))
    name = draw(st.sampled_from(["fuzz-1", "entra-automation-signing", "entra-automation-cert"]) | NAMES)
    path = template.format(n=name, v=draw(SEGMENT))
    query = [("api-version", "7.6")] if writes or draw(st.integers(0, 9)) < 8 else []
    if not writes:
        pages = {"maxresults": st.sampled_from(["1", "25", "26"]), "$skiptoken": st.sampled_from(["1", "-3"])}
        query += draw(queries(pages))
    choice = 0 if writes else draw(st.integers(0, 9))
    token = fuzz.vault_token if choice < 7 else fuzz.graph_token if choice == 7 else draw(FAKE_JWTS)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if not writes:
        headers |= draw(header_sets({"Authorization": st.sampled_from([f"PoP {token}", token, "Bearer"])}))
        headers["Content-Type"] = draw(CONTENT_TYPES)
    valid = VALID_BODIES(fuzz).get(template)
    if writes and valid is not None:
        return Call(method, path, query, headers, draw(bodies(near(valid))))
    return Call(method, path, query, headers, draw(bodies(BODY_SHAPES)))


def VALID_BODIES(fuzz: FuzzTenant) -> dict[str, Any]:
    policy = {
        "x509_props": {"subject": "CN=fuzz", "validity_months": 12},
        "secret_props": {"contentType": "application/x-pkcs12"},
        "key_props": {"exportable": True},
    }
    return {
        "/secrets/{n}": {
            "value": "v",
            "contentType": "text/plain",
            "tags": {"a": "b"},
            "attributes": {"enabled": True},
        },
        "/keys/{n}/sign": {"alg": "RS256", "value": b64url(b"\x01" * 32)},
        "/keys/{n}/{v}/sign": {"alg": "PS256", "value": b64url(b"\x01" * 32)},
        "/keys/{n}/decrypt": {"alg": "RSA-OAEP-256", "value": b64url(b"\x02" * 256)},
        "/keys/{n}/{v}/unwrapkey": {"alg": "RSA-OAEP", "value": b64url(b"\x02" * 256)},
        "/certificates/{n}/import": {"value": fuzz.pfx, "pwd": "", "policy": policy, "tags": {"a": "b"}},
        "/certificates/{n}/create": {"policy": policy, "tags": {"a": "b"}},
    }


@FUZZ
@given(data=st.data())
def test_fuzz_keyvault_writes(fuzz: FuzzTenant, data: st.DataObject) -> None:
    """Bodies near valid ones for set, sign, import and create: BadParameter for each mistake, no 5xx."""
    call = data.draw(calls(fuzz, writes=True))
    status, headers, body = send(fuzz.client("keyvault"), call)
    check(status, headers, body, shape=keyvault_shape, secrets=fuzz.secrets())


@FUZZ
@given(data=st.data())
def test_fuzz_keyvault(fuzz: FuzzTenant, data: st.DataObject) -> None:
    """Generated requests (mostly with an administrator's token): no 5xx, Key Vault's shape, no echo."""
    call = data.draw(calls(fuzz))
    status, headers, body = send(fuzz.client("keyvault"), call)
    bearer = call.headers.get("Authorization", "").partition(" ")[2]
    check(status, headers, body, shape=keyvault_shape, secrets=[*fuzz.secrets(), bearer])
