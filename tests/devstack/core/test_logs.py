"""No log line of the servers, werkzeug's included, holds a query string, a secret header or a body."""

from __future__ import annotations

import logging

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from tests.devstack.core.conftest import TARGETS
from tests.devstack.support import FUNCTION_KEY, MASTER_KEY, SECRET_MARKERS, exchange, request_bytes

SECRET_HEADERS = {
    "Authorization": "Bearer tok3nSECRET",
    "x-functions-key": MASTER_KEY,
    "X-IDENTITY-HEADER": "1dhdrSECRET",
}
QUERY = f"?code={FUNCTION_KEY}&x=qu3rySECRET"


def _requests(path: str) -> list[tuple[bytes, bool]]:
    """Well-formed and malformed requests, each carrying every secret marker it can."""
    head = "".join(f"{k}: {v}\r\n" for k, v in SECRET_HEADERS.items())
    return [
        (request_bytes("POST", path + QUERY, SECRET_HEADERS, b'{"b0dySECRET": 1}'), False),
        (request_bytes("GET", path + QUERY, SECRET_HEADERS), False),
        (f"GET {path}{QUERY} HTTP/9.9\r\nHost: x\r\n{head}\r\n".encode(), False),
        (f"GET {path} {QUERY} HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode(), False),
        (f"GET /{'a' * 70000}{QUERY} HTTP/1.1\r\n{head}\r\n".encode(), False),
        (
            f"POST {path}{QUERY} HTTP/1.1\r\nHost: x\r\n{head}Content-Length: 50\r\n\r\nb0dySECRET".encode(),
            True,
        ),
        (
            f"POST {path}{QUERY} HTTP/1.1\r\nHost: x\r\n{head}Transfer-Encoding: chunked\r\n\r\n"
            "zz\r\nb0dySECRET\r\n".encode(),
            False,
        ),
        (f"GET {path}{QUERY} HTTP/1.1\r\nHost: x\r\nX-Bad: \x01{'tok3nSECRET'}\r\n\r\n".encode(), False),
    ]


def test_no_secret_reaches_any_log(
    plain_urls: dict[str, str],
    devstack: OfflineTenant,
    ca_bundle: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Requests with secrets in query, headers and body, good and malformed, leave no trace in logs."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    paths = {"host": "/api/echo", "identity": "/msi/token", "entra": "/common/oauth2/v2.0/token"}
    answered = 0
    for target in TARGETS:
        for data, half_close in _requests(paths.get(target, "/v1.0/users")):
            response = exchange(plain_urls[target], None, data, half_close=half_close)
            assert not any(m.encode() in response.body for m in SECRET_MARKERS), (target, response.body)
            answered += 1
    for name in ("entra", "keyvault", "graph"):  # and over TLS, through the real servers
        with requests.Session() as s:
            s.trust_env = False
            s.verify = ca_bundle
            s.post(
                f"{devstack.servers[name].url}/secrets/x{QUERY}", headers=SECRET_HEADERS, data=b"b0dySECRET"
            )
            exchange(devstack.servers[name].url, ca_bundle, f"GET /x{QUERY} HTTP/9.9\r\n\r\n".encode())
    captured = capfd.readouterr()
    # Everything but the test's own HTTP client (urllib3 logs the URLs it calls, by design).
    server_lines = [caplog.handler.format(r) for r in caplog.records if not r.name.startswith("urllib3")]
    logged = "\n".join(server_lines) + captured.out + captured.err
    assert answered == len(TARGETS) * 8
    assert caplog.records, "the servers logged nothing at DEBUG: the capture is not working"
    for marker in SECRET_MARKERS:
        assert marker not in logged
