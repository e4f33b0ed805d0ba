"""Serve an emulator on 127.0.0.1 (ephemeral port), over TLS with the devstack CA or plain http."""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devstack.tenant.pki import CertificateAuthority

# The werkzeug request log would print every call (and query strings) to the console.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


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


class RunningServer:
    """A threaded server in a daemon thread; `stop()` closes its socket."""

    def __init__(self, server: BaseWSGIServer, scheme: str) -> None:
        self.server = server
        self.url = f"{scheme}://127.0.0.1:{server.server_port}"
        self.thread = threading.Thread(target=server.serve_forever, name=f"devstack-{self.url}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app: Any, *, ssl_context: ssl.SSLContext | None, port: int = 0) -> RunningServer:
    server = make_server(
        "127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
    )
    return RunningServer(server, "https" if ssl_context else "http")
