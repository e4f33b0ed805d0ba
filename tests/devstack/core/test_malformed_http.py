"""Malformed HTTP gets its status with a short body in the service's own error shape, never silence."""

from __future__ import annotations

import pytest

from devstack.offline_tenant import OfflineTenant
from tests.devstack.core.conftest import TARGETS
from tests.devstack.support import SECRET_MARKERS, RawResponse, exchange, request_bytes

ECHO = {"host": "/api/echo"}  # a path that reads the body; the emulators read it before routing


def _path(target: str) -> str:
    return ECHO.get(target, "/v1.0/users")


CASES: list[tuple[str, bytes | None, int, bool]] = [
    # (name, raw request or None for a well-formed one built per target, status, half-close)
    ("space in URL", b"GET /a b?code=qu3rySECRET HTTP/1.1\r\nHost: x\r\n\r\n", 400, False),
    ("HTTP/9.9", b"GET /x?code=qu3rySECRET HTTP/9.9\r\nHost: x\r\n\r\n", 505, False),
    ("HTTP/0.9 style", b"GET /x\r\n\r\n", 400, False),
    ("64 KB URL", b"GET /" + b"a" * 65536 + b"?code=qu3rySECRET HTTP/1.1\r\nHost: x\r\n\r\n", 414, False),
    ("40 KB header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n", 431, False),
    ("101 headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-H: 1\r\n" * 101 + b"\r\n", 431, False),
    ("no Host", b"GET / HTTP/1.1\r\n\r\n", 400, False),
    ("NUL in header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, False),
    ("folded header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, False),
    ("header without colon", b"GET / HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n", 400, False),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n\r\n", 400, False),
    (
        "Content-Length not a number",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
        400,
        False,
    ),
    ("empty Content-Length", b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400, False),
    ("two Content-Lengths", b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nab", 400, False),
    (
        "huge Content-Length",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n",
        413,
        False,
    ),
    (
        "short body",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nb0dySECRET",
        400,
        True,
    ),
    (
        "chunk size not hex",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nb0dySECRET\r\n0\r\n\r\n",
        400,
        False,
    ),
    (
        "chunk without CRLF",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
        400,
        False,
    ),
    (
        "truncated chunked body",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nb0dySECRET",
        400,
        True,
    ),
    (
        "negative chunk size",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
        400,
        False,
    ),
    (
        "Content-Length and chunked",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        False,
    ),
    (
        "gzip, chunked",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
        False,
    ),
    (
        "Expect: other",
        b"POST {path} HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\na",
        417,
        False,
    ),
]


def assert_service_shape(target: str, response: RawResponse) -> None:
    """The body is the target's own error shape, short, with its status."""
    assert len(response.body) < 2048
    body = response.json()
    if target == "host":
        assert response.headers["content-type"] == "application/problem+json"
        assert body["status"] == response.status
    elif target == "entra":
        assert body["error"] == "invalid_request"
        assert body["error_codes"] == [9002313]
        assert body["error_description"].startswith("AADSTS9002313: Invalid request.")
    elif target == "identity":
        assert body["statusCode"] == response.status
        assert isinstance(body["message"], str)
    else:
        assert set(body) == {"error"}
        assert isinstance(body["error"]["code"], str)
        assert isinstance(body["error"]["message"], str)
        if target == "keyvault" and response.status == 400:
            assert body["error"]["code"] == "BadParameter"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("case", "raw", "status", "half_close"), CASES, ids=[c[0] for c in CASES])
def test_malformed_request_gets_its_status_in_the_service_shape(
    plain_urls: dict[str, str], target: str, case: str, raw: bytes, status: int, half_close: bool
) -> None:
    """Each malformed request is answered with its 4xx/5xx status and a short body, nothing echoed."""
    data = raw.replace(b"{path}", _path(target).encode())
    response = exchange(plain_urls[target], None, data, half_close=half_close)
    assert response.status == status, case
    assert_service_shape(target, response)
    assert not any(m.encode() in response.body for m in SECRET_MARKERS)
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize("name", ["entra", "keyvault", "graph"])
def test_malformed_request_over_tls_is_answered_too(
    devstack: OfflineTenant, ca_bundle: str, name: str
) -> None:
    """The TLS emulators answer a malformed request line like the plain ones (505 for HTTP/9.9)."""
    response = exchange(devstack.servers[name].url, ca_bundle, b"GET /x HTTP/9.9\r\nHost: x\r\n\r\n")
    assert response.status == 505
    assert_service_shape(name, response)


@pytest.mark.parametrize("target", TARGETS)
def test_well_formed_bodies_still_arrive(plain_urls: dict[str, str], target: str) -> None:
    """Content-Length, chunked and Expect: 100-continue bodies reach the app whole."""
    url = plain_urls[target]
    path = _path(target)
    headers = {"x-functions-key": "fkey-Q7mZ2x9s"} if target == "host" else {}
    plain = exchange(url, None, request_bytes("POST", path, headers, b"abcdef"))
    chunked = exchange(
        url,
        None,
        request_bytes(
            "POST",
            path,
            {**headers, "Transfer-Encoding": "chunked"},
            b"3\r\nabc\r\n3;x=y\r\ndef\r\n0\r\n\r\n",
        ),
    )
    expect = exchange(
        url,
        None,
        request_bytes("POST", path, {**headers, "Expect": "100-continue", "Content-Length": "6"}, b"abcdef"),
    )
    if target == "host":
        assert plain.body == chunked.body == b"POST 6"
        assert expect.status == 100  # the interim answer comes first
    else:
        assert plain.status == chunked.status
        assert plain.status < 500
