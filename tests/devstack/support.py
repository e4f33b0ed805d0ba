"""Raw-socket clients for the devstack servers (what a hostile or broken client sends, byte by byte),
and a local Functions host serving a test's app on a real socket."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from devstack.host.auth import HostKeys
from devstack.host.indexing import index_app
from devstack.host.invocation import InvocationContext, invocation_trace
from devstack.host.runtime import FunctionsHost
from devstack.host.settings import HostConfig
from devstack.tenant.pki import CertificateAuthority, new_rsa_key, utcnow

# Markers a test sends as secrets; none may appear in a response or a log line.
FUNCTION_KEY = "fkey-Q7mZ2x9s"
MASTER_KEY = "mkey-W4nP8c1v"
SECRET_MARKERS = ("Q7mZ2x9s", "W4nP8c1v", "tok3nSECRET", "b0dySECRET", "qu3rySECRET", "1dhdrSECRET")


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def connect(url: str, ca: str | None, timeout: float = 10.0) -> socket.socket:
    """A connected socket (TLS for https, verified against the devstack CA)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout)
    if parts.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca)
        return ctx.wrap_socket(sock, server_hostname=parts.hostname)
    return sock


def parse(raw: bytes) -> RawResponse:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(status, headers, body)


def exchange(url: str, ca: str | None, data: bytes, *, half_close: bool = False) -> RawResponse:
    """Send `data` as is, read until the server closes, parse the answer."""
    with connect(url, ca) as sock:
        sock.sendall(data)
        if half_close:
            if isinstance(sock, ssl.SSLSocket):
                raise ValueError("half-close needs plain TCP")
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        raise AssertionError("the server closed the connection without an answer")
    return parse(raw)


def request_bytes(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """A well-formed HTTP/1.1 request (Host and Content-Length added)."""
    fields = {"Host": "127.0.0.1", **(headers or {})}
    if body and "Content-Length" not in fields and "Transfer-Encoding" not in fields:
        fields["Content-Length"] = str(len(body))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return head.encode("latin-1") + b"\r\n" + body


def client_hello() -> bytes:
    """The first flight of a real TLS client (a ClientHello), to trickle at a server."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def intermediate_ca(
    parent: CertificateAuthority,
    name: str,
    *,
    ca: bool = True,
    not_after: dt.datetime | None = None,
) -> CertificateAuthority:
    """An issuing CA below `parent` (Entra's subject name + issuer certificates come from such CAs);
    `ca=False` gives a certificate that claims to issue but is not a CA."""
    key = new_rsa_key()
    now = utcnow()
    inter = CertificateAuthority.__new__(CertificateAuthority)
    inter.key = key
    inter.certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)]))
        .issuer_name(parent.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .sign(parent.key, hashes.SHA256())
    )
    return inter


@contextlib.contextmanager
def functions_host(
    app: func.FunctionApp, root: Path, keys: HostKeys, config: HostConfig | None = None
) -> Iterator[FunctionsHost]:
    """`app` served by a local Functions host on a free port of 127.0.0.1 (no settings), stopped after."""
    host = FunctionsHost(
        index_app(app), root=root, environ={}, config=config or HostConfig(), keys=keys, port=0
    )
    host.start()
    try:
        yield host
    finally:
        host.stop()


def http_context(traceparent: str | None = None, tracestate: str | None = None) -> func.Context:
    """The `context` the local host passes with an HTTP invocation: its own span, a child of the
    caller's `traceparent` header when one is sent (devstack/host/invocation.py)."""
    parent, state = invocation_trace(traceparent, tracestate)
    return InvocationContext("test", "http", ".", parent, state)
