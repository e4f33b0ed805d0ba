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
    bodies,
    check,
    header_sets,
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


@st.composite
def calls(draw: st.DrawFn, fuzz: FuzzTenant) -> Call:
    template = draw(st.sampled_from(PATHS))
    path = template.format(n=draw(NAMES), v=draw(SEGMENT))
    query = draw(
        queries(
            {
                "api-version": st.just("7.6"),
                "maxresults": st.sampled_from(["1", "25", "26", "0"]),
                "$skiptoken": st.sampled_from(["1", "-3", "x"]),
            }
        )
    )
    if draw(st.booleans()):
        query.append(("api-version", "7.6"))
    token = draw(st.sampled_from([fuzz.vault_token, fuzz.graph_token]) | FAKE_JWTS)
    headers = draw(
        header_sets({"Authorization": st.sampled_from([f"Bearer {token}", "Bearer", f"PoP {token}", token])})
    )
    if draw(st.integers(0, 4)):
        headers["Authorization"] = f"Bearer {token}"
    headers["Content-Type"] = draw(CONTENT_TYPES)
    return Call(draw(METHODS), path, query, headers, draw(bodies(BODY_SHAPES)))


@FUZZ
@given(data=st.data())
def test_fuzz_keyvault(fuzz: FuzzTenant, data: st.DataObject) -> None:
    """Generated requests (mostly with an administrator's token): no 5xx, Key Vault's shape, no echo."""
    call = data.draw(calls(fuzz))
    status, headers, body = send(fuzz.client("keyvault"), call)
    bearer = call.headers.get("Authorization", "").partition(" ")[2]
    check(status, headers, body, shape=keyvault_shape, secrets=[*fuzz.secrets(), bearer])
