"""Fuzz: Entra's token and discovery endpoints answer every request with an AADSTS error body."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import jwt
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
    WEIRD_TEXT,
    Call,
    bodies,
    check,
    header_sets,
    queries,
    send,
)

GRANTS = st.sampled_from(
    ["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "password", "refresh_token"]
)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TIME_VALUES = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(),  # NaN and infinities included
    st.sampled_from([1e20, -1e20, 253402300800, 0, True]),
    st.text(max_size=12),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


def entra_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict), body
    assert isinstance(body["error"], str)
    code = body["error_codes"][0]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["error_uri"].endswith(f"code={code}")


@st.composite
def assertions(draw: st.DrawFn, fuzz: FuzzTenant, audience: str) -> str:
    """Client assertions signed with the app's real certificate, with generated claims."""
    now = time.time()
    claims: dict[str, Any] = {
        "aud": draw(st.sampled_from([audience, "https://elsewhere"]) | JSON_VALUES),
        "iss": fuzz.app_id,
        "sub": draw(st.sampled_from([fuzz.app_id]) | JSON_VALUES),
        "jti": "j",
        "exp": draw(st.just(now + 600) | TIME_VALUES),
        "nbf": draw(st.just(now) | TIME_VALUES),
        "iat": draw(st.just(now) | TIME_VALUES),
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    header: dict[str, Any] = draw(st.sampled_from([{"x5t": fuzz.x5t}, {"x5t": "AAAA"}, {}, {"x5c": ["!!"]}]))
    alg = draw(st.sampled_from(["RS256", "PS256", "RS512"]))
    payload = json.dumps(claims).encode()  # NaN and Infinity as Python writes them
    return jwt.api_jws.encode(payload, fuzz.signing_key, algorithm=alg, headers=header)


@st.composite
def calls(draw: st.DrawFn, fuzz: FuzzTenant) -> Call:
    tenant = draw(
        st.sampled_from([fuzz.stack.tenant.tenant_id, fuzz.stack.tenant.default_domain, "common"]) | SEGMENT
    )
    path = draw(
        st.sampled_from(
            [
                f"/{tenant}/oauth2/v2.0/token",
                f"/{tenant}/oauth2/token",
                f"/{tenant}/v2.0/.well-known/openid-configuration",
                f"/{tenant}/discovery/v2.0/keys",
                "/_devstack/users/x/token",
            ]
        )
        | SEGMENT.map(lambda s: f"/{tenant}/{s}")
    )
    audience = f"{fuzz.stack.servers['entra'].url}/{fuzz.stack.tenant.tenant_id}/oauth2/v2.0/token"
    form_values = {
        "grant_type": GRANTS,
        "client_id": st.sampled_from([fuzz.app_id]),
        "client_secret": st.sampled_from([fuzz.app_secret[:-1] + "x"]),
        "client_assertion": assertions(fuzz, audience) | FAKE_JWTS,
        "client_assertion_type": st.sampled_from([ASSERTION_TYPE]),
        "scope": st.sampled_from(["https://graph.microsoft.com/.default", "User.Read", "/.default", "a b"]),
        "resource": st.sampled_from(["https://vault.azure.net", "nope"]),
        "assertion": FAKE_JWTS,
        "requested_token_use": st.sampled_from(["on_behalf_of"]),
        "client_info": st.sampled_from(["1"]),
    }
    form = draw(st.fixed_dictionaries({}, optional={k: v | WEIRD_TEXT for k, v in form_values.items()}))
    content_type = draw(CONTENT_TYPES)
    kind = draw(st.sampled_from(["form", "form", "multipart", "other"]))
    if kind == "form":
        body = urlencode(form).encode()
        content_type = "application/x-www-form-urlencoded"
    elif kind == "multipart":
        parts = draw(st.integers(0, 1100))
        fields = list(form.items()) + [(f"f{i}", "v") for i in range(parts)]
        body = b"".join(
            f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields
        ) + (b"--b--\r\n" if draw(st.booleans()) else b"")
        content_type = "multipart/form-data; boundary=b"
    else:
        body = draw(bodies())
    headers = draw(
        header_sets({"client-request-id": st.uuids().map(str), "Authorization": st.just("Basic !!")})
    )
    headers["Content-Type"] = content_type
    return Call(draw(METHODS | st.just("POST")), path, draw(queries({})), headers, body)


@FUZZ
@given(data=st.data())
def test_fuzz_token_endpoint(fuzz: FuzzTenant, data: st.DataObject) -> None:
    """Generated token requests: Entra's error body with its AADSTS code, never a 5xx or an echo."""
    call = data.draw(calls(fuzz))
    status, headers, body = send(fuzz.client("entra"), call)
    if call.path.startswith("/_devstack/"):
        return  # the control endpoint is fuzzed with the others
    check(status, headers, body, shape=entra_shape, secrets=fuzz.secrets())
    if status == 200 and "token" in call.path and b"access_token" in body:
        assert call.method == "POST"
