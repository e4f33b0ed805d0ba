"""Fuzz: Microsoft Graph answers reads, writes, `$batch` and subscriptions in its error shape."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.devstack.fuzz.conftest import FuzzTenant
from tests.devstack.fuzz.support import (
    CONTENT_TYPES,
    FAKE_JWTS,
    FUZZ,
    METHODS,
    SEGMENT,
    WEIRD_TEXT,
    Call,
    bodies,
    check,
    near,
    queries,
    send,
)

HOOK = "http://127.0.0.1:9/hook"  # loopback, nothing listens: validation fails fast, no network
READS = ["/users", "/groups", "/applications", "/servicePrincipals", "/organization", "/users/delta", "/me"]
GOOD_ITEM = {"id": "1", "method": "GET", "url": "/users?$top=2", "headers": {"ConsistencyLevel": "eventual"}}
VALID: dict[tuple[str, str], Any] = {
    ("POST", "/$batch"): {
        "requests": [GOOD_ITEM, {"id": "2", "method": "GET", "url": "/groups", "dependsOn": ["1"]}]
    },
    ("POST", "/subscriptions"): {
        "changeType": "updated",
        "notificationUrl": HOOK,
        "resource": "users",
        "expirationDateTime": "2099-01-01T00:00:00Z",
        "clientState": "x",
    },
    ("POST", "/users"): {
        "accountEnabled": True,
        "displayName": "Fuzz",
        "mailNickname": "fuzz",
        "userPrincipalName": "fuzz@contoso.example",
        "passwordProfile": {"password": "x"},
    },
    ("PATCH", "/users/{id}"): {"displayName": "Fuzz", "jobTitle": "x"},
    ("POST", "/groups"): {
        "displayName": "G",
        "mailEnabled": False,
        "mailNickname": "g",
        "securityEnabled": True,
    },
    ("POST", "/applications/{id}/addPassword"): {"passwordCredential": {"displayName": "x"}},
}
QUERY = {
    "$top": st.sampled_from(["1", "999", "1000", "0", "-1"]),
    "$select": st.sampled_from(["id,displayName", "nope", ""]),
    "$filter": st.sampled_from(["startswith(displayName,'A')", "id eq 'x'", "((", "displayName eq"]),
    "$skiptoken": st.sampled_from(["X", "Xe30", "!!"]) | FAKE_JWTS,
    "$count": st.sampled_from(["true", "maybe"]),
    "$expand": st.sampled_from(["members", "x"]),
    "$deltatoken": st.sampled_from(["x", ""]),
}


def graph_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict), body
    error = body["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert set(error["innerError"]) >= {"request-id", "date"}


@st.composite
def calls(draw: st.DrawFn, fuzz: FuzzTenant) -> Call:
    version = draw(st.sampled_from(["v1.0", "v1.0", "beta"]) | SEGMENT)
    user_id = draw(st.sampled_from([u.object_id for u in fuzz.stack.tenant.users[:3]]) | SEGMENT)
    if draw(st.integers(0, 9)) < 5:
        method, template = draw(st.sampled_from(sorted(VALID)))
        body = draw(bodies(near(VALID[(method, template)])))
    else:
        method = draw(METHODS)
        template = draw(
            st.sampled_from([*READS, "/users/{id}", "/subscriptions/{id}", "/groups/{id}/members"])
        )
        body = draw(bodies())
    app = fuzz.stack.tenant.app_by_name("entra-automation")
    object_id = app.object_id if app is not None and "applications" in template else user_id
    path = f"/{version}" + template.replace("{id}", object_id)
    query = draw(queries(QUERY))
    token = fuzz.graph_token if draw(st.integers(0, 9)) < 8 else draw(FAKE_JWTS | WEIRD_TEXT)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": draw(st.just("application/json") | CONTENT_TYPES),
    }
    if draw(st.booleans()):
        headers["ConsistencyLevel"] = "eventual"
    return Call(method, path, query, headers, body)


@FUZZ
@given(data=st.data())
def test_fuzz_graph(fuzz: FuzzTenant, data: st.DataObject) -> None:
    """Generated Graph calls (mostly near-valid writes, batches and subscriptions): no 5xx, Graph's shape."""
    call = data.draw(calls(fuzz))
    status, headers, body = send(fuzz.client("graph"), call)
    check(status, headers, body, shape=graph_shape, secrets=fuzz.secrets())
