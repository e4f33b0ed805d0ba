"""Fuzz: the managed identity endpoint answers every request in its own shape, 500 only by design."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.devstack.fuzz.conftest import FuzzTenant
from tests.devstack.fuzz.support import (
    FUZZ,
    METHODS,
    SEGMENT,
    Call,
    bodies,
    check,
    header_sets,
    queries,
    send,
)

RESOURCES = st.sampled_from(
    ["https://vault.azure.net", "https://graph.microsoft.com/", "api://AzureADTokenExchange", "https://nope"]
)


def identity_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict), body
    assert body["statusCode"] == status
    assert isinstance(body["message"], str)


def unknown_resource(status: int, body: Any) -> bool:
    """App Service's one 500 by design: Entra refused the resource behind the endpoint."""
    return status == 500 and body["message"] == "An unexpected error occured while fetching the AAD Token."


@st.composite
def calls(draw: st.DrawFn, header: str) -> Call:
    path = draw(
        st.sampled_from(["/msi/token", "/msi/token/", "/msi", "/"]) | SEGMENT.map(lambda s: "/msi/" + s)
    )
    query = draw(
        queries(
            {
                "api-version": st.sampled_from(["2019-08-01", "2017-09-01"]),
                "resource": RESOURCES,
                "client_id": st.uuids().map(str),
                "object_id": st.uuids().map(str),
                "principal_id": st.uuids().map(str),
                "mi_res_id": st.just("/subscriptions/x/resourcegroups/y"),
            }
        )
    )
    headers = draw(header_sets({"X-IDENTITY-HEADER": st.just(header), "Metadata": st.just("true")}))
    return Call(draw(METHODS), path, query, headers, draw(bodies()))


@FUZZ
@given(data=st.data())
def test_fuzz_identity_endpoint(fuzz: FuzzTenant, data: st.DataObject) -> None:
    """Generated requests: no 5xx but the unknown-resource 500, the endpoint's shape, no echo."""
    call = data.draw(calls(fuzz.stack.identity_header))
    status, headers, body = send(fuzz.client("identity"), call)
    check(
        status,
        headers,
        body,
        shape=identity_shape,
        allowed_5xx=unknown_resource,
        secrets=[fuzz.stack.identity_header],
    )
