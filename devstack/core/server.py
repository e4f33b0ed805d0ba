"""Serve a WSGI app on 127.0.0.1 so that no client can stall it: every emulator and the local host.

werkzeug's threaded server accepts and runs the TLS handshake in its one accept loop, with no
timeout: a socket that never sends a ClientHello stops every other client. Here the accept loop
only accepts; a connection that sends nothing waits in a selector (costing one descriptor, no
thread) and is closed after `Limits.idle_s`; once it sends, a thread of its own runs the handshake
and reads the request under deadlines (`devstack.core.http1`), then werkzeug's handler calls the app.

Malformed requests get their status (400, 408, 413, 414, 431, 501, 505) with a short body in the
app's own error shape (`error_page`). Nothing here logs a query string, a header value or a body.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import os
import selectors
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Response

from devstack.core.http1 import (
    DeadlineSocketReader,
    DeadlineSocketWriter,
    Limits,
    Rejected,
    body_length,
    read_body,
    read_head,
)
from devstack.tenant.pki import CertificateAuthority

__all__ = ["ErrorPage", "Limits", "RunningServer", "serve", "server_ssl_context"]

logger = logging.getLogger(__name__)
# werkzeug's own logger would print request lines (query strings included); nothing here uses it.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

ErrorPage = Callable[[int, str], Response]
_Silent = dict[socket.socket, tuple[Any, float]]  # connection -> (address, arrival), oldest first
LOOPBACK = "127.0.0.1"
_BACKLOG = 1024


def server_ssl_context(ca: CertificateAuthority) -> ssl.SSLContext:
    issued = ca.issue("localhost", server_names=["127.0.0.1", "localhost", "::1"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # ssl only loads a key from a file: write it for the instant of loading, 0600, then delete.
    fd, path = tempfile.mkstemp(prefix="devstack-tls-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(issued.key_pem() + issued.cert_pem())
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
    return ctx


def default_error_page(status: int, detail: str) -> Response:
    """`{"error": {"code", "message"}}`: the shape Key Vault's and Graph's errors share."""
    code = HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
    body = json.dumps({"error": {"code": code, "message": detail}})
    return Response(body, status=status, content_type="application/json; charset=utf-8")


class _Handler(WSGIRequestHandler):
    """werkzeug's WSGI handler for exactly one request, read by `http1` first."""

    protocol_version = "HTTP/1.1"
    devstack: DevstackServer

    def __init__(self, request: Any, client_address: Any, server: DevstackServer) -> None:
        self.devstack = server
        self.limits = server.limits
        self._body = b""
        super().__init__(request, client_address, server)  # type: ignore[arg-type]

    def setup(self) -> None:
        self.connection = self.request
        self.reader = DeadlineSocketReader(self.connection)
        self.input = io.BufferedReader(self.reader)
        self.rfile = self.input
        self.wfile = DeadlineSocketWriter(self.connection, self.limits.write_s)  # type: ignore[assignment]

    def handle(self) -> None:
        self.close_connection = True  # werkzeug closes every connection after its answer
        self.requestline = ""
        self.request_version = "HTTP/1.1"
        self.command = ""
        try:
            self._one_request()
        except Rejected as exc:
            self._reject(exc.status, exc.detail)
        except TimeoutError:
            if self.reader.received:  # a stalled request gets an answer; a silent socket does not
                self._reject(408, "The request did not arrive in time.")
        except (ConnectionError, ssl.SSLError):
            pass

    def _one_request(self) -> None:
        self.reader.deadline = time.monotonic() + self.limits.header_s
        head = read_head(self.input, self.limits)
        if head is None:
            return
        self.command, self.path, self.request_version = head.method, head.target, head.version
        self.requestline = f"{head.method} {head.target.split('?', 1)[0]} {head.version}"
        headers = http.client.HTTPMessage()
        for name, value in head.fields:
            headers[name] = value
        self.headers = headers
        length = body_length(head, self.limits)
        expect = [v.lower() for v in head.values("Expect")]
        if expect:
            if expect != ["100-continue"]:
                raise Rejected(417, "Only 'Expect: 100-continue' is understood.")
            del self.headers["Expect"]  # answered here; werkzeug would send a second one
            if length != 0 and head.version == "HTTP/1.1":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.reader.deadline = time.monotonic() + self.limits.body_total_s
        self.reader.pause_s = self.limits.body_idle_s
        self._body = read_body(self.input, length, self.limits)
        self.reader.drain()
        self.run_wsgi()

    def make_environ(self) -> Any:
        environ = super().make_environ()
        environ["wsgi.input"] = io.BytesIO(self._body)
        environ["wsgi.input_terminated"] = True  # the whole body, already read (chunked included)
        if self._body or "CONTENT_LENGTH" in environ:
            environ["CONTENT_LENGTH"] = str(len(self._body))
        return environ

    def _reject(self, status: int, detail: str) -> None:
        """The status with the app's error body; the connection closes after it."""
        logger.debug("%s: refused a request with %s", self.devstack.name, status)
        try:
            response = self.devstack.error_page(status, detail)
            body = response.get_data()
            lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
            lines += [f"{k}: {v}" for k, v in response.headers.items() if k.lower() != "content-length"]
            lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
            self.wfile.write("\r\n".join(lines).encode("latin-1") + body)
        except (OSError, ValueError):
            pass

    def finish(self) -> None:
        """Half-close and read what the client still sends, so it sees the answer, not a reset."""
        self.reader.drain()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            while self.rfile.read1(65536):
                pass

    # werkzeug's and http.server's log lines hold the request line, query string included.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s: %s -> %s", self.devstack.name, self.requestline, code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("%s: connection error", self.devstack.name)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: connection message", self.devstack.name)


class DevstackServer:
    """One listening socket, a selector for silent connections, a thread per active connection.

    Offers what werkzeug's handler reads from its server (`app`, `ssl_context`, `multithread`, ...).
    """

    multithread = True
    multiprocess = False
    passthrough_errors = False

    def __init__(
        self,
        app: Any,
        *,
        ssl_context: ssl.SSLContext | None,
        port: int = 0,
        limits: Limits | None = None,
        error_page: ErrorPage | None = None,
        name: str = "server",
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.limits = limits or Limits()
        self.error_page: ErrorPage = error_page or getattr(app, "http_error", None) or default_error_page
        self.name = name
        self.socket = socket.create_server((LOOPBACK, port), backlog=_BACKLOG)
        self.socket.setblocking(False)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self.server_port = int(self.server_address[1])
        self._server_version = "devstack"
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.active = 0  # connections with a thread (for tests and benchmarks)

    def log(self, type: str, message: str, *args: Any) -> None:
        """werkzeug reports an app's unhandled exception here (its text may hold request data)."""
        logger.error("%s: the application failed to answer a request", self.name)

    # -- the accept loop ------------------------------------------------------------------
    def serve_forever(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.socket, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        silent: _Silent = {}  # in arrival order
        try:
            while not self._stopping.is_set():
                timeout = 1.0
                if silent:
                    oldest = next(iter(silent.values()))[1]
                    timeout = max(0.0, min(timeout, oldest + self.limits.idle_s - time.monotonic()))
                for key, _ in selector.select(timeout):
                    if key.fileobj is self.socket:
                        self._accept(selector, silent)
                    elif key.fileobj is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(64)
                    else:
                        conn = key.fileobj
                        assert isinstance(conn, socket.socket)
                        selector.unregister(conn)
                        address, arrived = silent.pop(conn)
                        self._start(conn, address, arrived)
                self._expire(selector, silent)
        finally:
            for conn in silent:
                selector.unregister(conn)
                conn.close()
            selector.close()
            self._stopped.set()

    def _accept(self, selector: selectors.BaseSelector, silent: _Silent) -> None:
        for _ in range(_BACKLOG):
            try:
                conn, address = self.socket.accept()
            except BlockingIOError:
                return
            except OSError:  # out of descriptors: make room by closing the oldest silent one
                if silent:
                    self._close_silent(selector, silent, next(iter(silent)))
                else:
                    time.sleep(0.05)
                return
            if len(silent) >= self.limits.idle_connections:
                self._close_silent(selector, silent, next(iter(silent)))
            silent[conn] = (address, time.monotonic())
            selector.register(conn, selectors.EVENT_READ)

    def _expire(self, selector: selectors.BaseSelector, silent: _Silent) -> None:
        now = time.monotonic()
        while silent:
            conn, (_, arrived) = next(iter(silent.items()))
            if arrived + self.limits.idle_s > now:
                return
            self._close_silent(selector, silent, conn)

    @staticmethod
    def _close_silent(selector: selectors.BaseSelector, silent: _Silent, conn: socket.socket) -> None:
        selector.unregister(conn)
        del silent[conn]
        conn.close()

    def _start(self, conn: socket.socket, address: Any, arrived: float) -> None:
        thread = threading.Thread(
            target=self._serve_connection, args=(conn, address, arrived), name=self.name, daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # no thread to spare: refuse this one connection
            conn.close()

    # -- one connection -------------------------------------------------------------------
    def _serve_connection(self, conn: socket.socket, address: Any, arrived: float) -> None:
        with self._lock:
            self.active += 1
        try:
            if self.ssl_context is not None:
                conn = self._handshake(conn, arrived + self.limits.handshake_s)
            _Handler(conn, address, self)
        except Exception as exc:  # noqa: BLE001 - one client's failure never reaches the others
            logger.debug("%s: connection ended: %s", self.name, type(exc).__name__)
        finally:
            with self._lock:
                self.active -= 1
            conn.close()

    def _handshake(self, conn: socket.socket, deadline: float) -> ssl.SSLSocket:
        assert self.ssl_context is not None
        tls = self.ssl_context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("handshake deadline passed")
            tls.settimeout(remaining)  # a deadline for the whole handshake, not per read
            tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        return tls

    # -- stop -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop accepting; connections being served finish on their own threads."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def wait_stopped(self, timeout: float) -> bool:
        return self._stopped.wait(timeout)

    def server_close(self) -> None:
        self.socket.close()
        self._wake_r.close()
        self._wake_w.close()


class RunningServer:
    """A server on a daemon thread; `stop()` closes its socket."""

    def __init__(self, server: DevstackServer, scheme: str) -> None:
        self.server = server
        self.url = f"{scheme}://{LOOPBACK}:{server.server_port}"
        self.thread = threading.Thread(target=server.serve_forever, name=f"devstack-{self.url}", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()


def serve(
    app: Any,
    *,
    ssl_context: ssl.SSLContext | None,
    port: int = 0,
    limits: Limits | None = None,
    error_page: ErrorPage | None = None,
    name: str | None = None,
) -> RunningServer:
    """Listen on 127.0.0.1 (`port` 0: an ephemeral one) and serve `app` until `stop()`.

    `error_page(status, detail)` renders the answer to a malformed request; by default the app's
    own `http_error` method, else `{"error": {"code", "message"}}`. OSError if the port is taken.
    """
    server = DevstackServer(
        app,
        ssl_context=ssl_context,
        port=port,
        limits=limits,
        error_page=error_page,
        name=name or getattr(app, "name", None) or "server",
    )
    return RunningServer(server, "https" if ssl_context else "http")
