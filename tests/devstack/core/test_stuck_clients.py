"""No client can stall a devstack server: silent sockets, trickled handshakes and trickled headers."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.wrappers import Request, Response

from devstack.core.server import Limits, RunningServer, serve, server_ssl_context
from devstack.offline_tenant import OfflineTenant
from devstack.tenant.pki import CertificateAuthority
from tests.conftest import tls_session
from tests.devstack.support import client_hello, parse

EMULATORS = ("identity", "entra", "keyvault", "graph")
FAST = Limits(handshake_s=1.0, idle_s=1.0, header_s=1.0, body_idle_s=1.0, body_total_s=2.0)


@Request.application
def _hello(request: Request) -> Response:
    return Response("hello")


@pytest.fixture
def fast_tls(tmp_path: Path) -> Iterator[tuple[RunningServer, str]]:
    """A TLS server with one-second deadlines, and the path of the CA that signed it."""
    ca = CertificateAuthority()
    server = serve(_hello, ssl_context=server_ssl_context(ca), limits=FAST, name="fast")
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.pem())
    try:
        yield server, str(path)
    finally:
        server.stop()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` within `seconds` (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


@pytest.mark.parametrize("name", EMULATORS)
def test_second_client_answered_while_a_silent_socket_is_open(
    devstack: OfflineTenant, http: requests.Session, name: str
) -> None:
    """A connection that never sends a byte (no ClientHello) does not delay anyone else."""
    with socket.create_connection(("127.0.0.1", devstack.servers[name].port), timeout=5):
        started = time.monotonic()
        assert http.get(f"{devstack.servers[name].url}/_devstack/requests", timeout=3).status_code == 200
        assert time.monotonic() - started < 2


def test_host_answers_while_a_silent_socket_is_open(host_url: str) -> None:
    """The local host serves a second client while a first one holds an idle connection."""
    port = int(host_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5), requests.Session() as s:
        s.trust_env = False
        assert s.get(f"{host_url}/api/open", timeout=3).text == "open"


def test_many_silent_sockets_exhaust_nothing(devstack: OfflineTenant, ca_bundle: str) -> None:
    """300 idle connections at once take no thread: Key Vault still answers at once."""
    port = devstack.servers["keyvault"].port
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(300)]
    try:
        with tls_session(ca_bundle) as s:
            started = time.monotonic()
            url = f"{devstack.servers['keyvault'].url}/_devstack/requests"
            assert all(s.get(url, timeout=3).status_code == 200 for _ in range(3))
            assert time.monotonic() - started < 2
    finally:
        for sock in idle:
            sock.close()


def test_silent_socket_is_closed_after_the_idle_time(fast_tls: tuple[RunningServer, str]) -> None:
    """A connection that sends nothing is closed by the server (after `idle_s`), without an answer."""
    server, _ = fast_tls
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        assert _closed_within(sock, 4)


def test_trickled_client_hello_is_cut_at_the_handshake_deadline(fast_tls: tuple[RunningServer, str]) -> None:
    """One byte of ClientHello every 0.1 s cannot hold a connection past the handshake deadline."""
    server, ca = fast_tls
    hello = client_hello()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        started = time.monotonic()
        closed = False
        for byte in hello:
            try:
                sock.send(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.1)
            if time.monotonic() - started > 4:
                break
        assert closed or _closed_within(sock, 1)
        assert time.monotonic() - started < 4
        with tls_session(ca) as s:
            assert s.get(server.url, timeout=3).text == "hello"


def test_trickled_headers_get_408_at_the_header_deadline(fast_tls: tuple[RunningServer, str]) -> None:
    """Headers sent one byte every 0.1 s are answered 408 when the header deadline passes."""
    server, ca = fast_tls
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        answer = b""
        try:
            for byte in b"X-Slow: " + b"a" * 100:
                sock.send(bytes([byte]))
                time.sleep(0.1)
                if time.monotonic() - started > 4:
                    break
        except OSError:
            pass
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except OSError:
            pass
    assert parse(answer).status == 408
    assert time.monotonic() - started < 4
