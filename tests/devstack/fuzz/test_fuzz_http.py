"""Fuzz the servers' HTTP layer with raw bytes: every emulator and the host answer or close, never 5xx.

Well-formed requests are mutated (a byte inserted, a range dropped, line ends changed, cut short)
and sent over a real socket, half-closed, so every request ends: it gets an answer in the target's
shape, or none at all only when nothing but blank lines arrived.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.devstack.fuzz.support import EXCEPTION_TEXT, FUZZ, METHODS, SEGMENT, problem_shape
from tests.devstack.support import FUNCTION_KEY, MASTER_KEY, exchange, request_bytes

TARGETS = ("identity", "entra", "keyvault", "graph", "host")
PATHS = {
    "identity": ["/msi/token"],
    "entra": ["/common/oauth2/v2.0/token", "/common/v2.0/.well-known/openid-configuration"],
    "keyvault": ["/secrets", "/secrets/x/", "/keys/x/sign"],
    "graph": ["/v1.0/users", "/v1.0/$batch", "/v1.0/subscriptions"],
    "host": ["/api/echo", "/api/open", "/admin/host/status"],
}


@st.composite
def raw_requests(draw: st.DrawFn, target: str) -> bytes:
    path = draw(st.sampled_from(PATHS[target]) | SEGMENT.map(lambda s: "/" + s))
    query = draw(st.sampled_from(["", f"?code={FUNCTION_KEY}", "?api-version=7.6", "?a=%zz&b"]))
    headers = draw(
        st.dictionaries(
            st.sampled_from(["x-functions-key", "Content-Type", "X-IDENTITY-HEADER", "Authorization", "X-A"]),
            st.sampled_from([MASTER_KEY, "application/json", "Bearer x.y.z", "", "\t"]),
            max_size=3,
        )
    )
    body = draw(st.binary(max_size=64) | st.sampled_from([b"{}", b'{"requests": []}', b"a=b"]))
    if draw(st.booleans()):
        headers["Transfer-Encoding"] = "chunked"
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    data = request_bytes(draw(METHODS), path + query, headers, body)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["insert", "drop", "lf", "cut", "dup"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=3)) + data[at:]
        elif kind == "drop":
            data = data[:at] + data[at + draw(st.integers(1, 8)) :]
        elif kind == "lf":
            data = data.replace(b"\r\n", b"\n", 1)
        elif kind == "cut":
            data = data[:at]
        else:
            data = data[:at] + data[at : at + 20] + data[at:]
    return data


def _shape(target: str, status: int, body: Any) -> None:
    if target == "host":
        problem_shape(status, body)
    elif target == "entra":
        assert body["error_description"].startswith("AADSTS")
    elif target == "identity":
        assert body["statusCode"] == status
    else:
        assert isinstance(body["error"]["code"], str)


@FUZZ
@given(data=st.data())
def test_fuzz_raw_http(fuzz_plain_urls: dict[str, str], data: st.DataObject) -> None:
    """Mutated raw requests: an answer (no 5xx, the target's shape, nothing echoed) or a quiet close."""
    target = data.draw(st.sampled_from(TARGETS))
    raw = data.draw(raw_requests(target))
    if not raw.strip(b"\r\n"):
        return
    response = exchange(fuzz_plain_urls[target], None, raw, half_close=True)  # raises on silence
    text = response.body.decode("utf-8", "replace")
    assert not any(marker in text for marker in EXCEPTION_TEXT), text[:300]
    assert FUNCTION_KEY not in text
    assert MASTER_KEY not in text
    # By design: the identity endpoint's unknown-resource 500; 501 for a transfer coding not understood.
    designed = response.status == 501 or (
        target == "identity" and response.status == 500 and "occured" in text
    )
    assert response.status < 500 or designed, text[:300]
    if response.status >= 400 and response.body:
        _shape(target, response.status, response.json())
