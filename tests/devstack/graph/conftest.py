"""Fixtures of the Graph emulator tests: base URL, an authorized session, a webhook receiver."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from tests.devstack.graph.support import GRAPH_DELIVERY, Subscriber, app_token

DEFAULT_THROTTLING = {"enabled": True, "tenantSize": None, "resourceUnitsPer10s": None, "writesPer150s": 3000}


@pytest.fixture
def graph(devstack: OfflineTenant) -> str:
    return f"{devstack.servers['graph'].url}/v1.0"


@pytest.fixture
def graph_base(devstack: OfflineTenant) -> str:
    return devstack.servers["graph"].url


@pytest.fixture(autouse=True)
def _fresh_graph(devstack: OfflineTenant, http: requests.Session) -> Iterator[None]:
    """Each test starts and ends with the default throttling model and full buckets, Graph's
    delivery settings, the real clock, and no subscriptions or queued notifications."""
    base = devstack.servers["graph"].url

    def reset() -> None:
        http.put(f"{base}/_devstack/throttling", json=DEFAULT_THROTTLING)
        http.put(f"{base}/_devstack/clock", json={"offsetSeconds": 0})
        http.delete(f"{base}/_devstack/subscriptions")
        http.delete(f"{base}/_devstack/notifications")
        http.put(f"{base}/_devstack/notifications", json=GRAPH_DELIVERY)

    reset()
    yield
    reset()


@pytest.fixture
def api(devstack: OfflineTenant, http: requests.Session) -> Iterator[requests.Session]:
    """A TLS session carrying the app's Graph token (its seeded app roles)."""
    http.headers["Authorization"] = f"Bearer {app_token(devstack)}"
    yield http
    http.delete(f"{devstack.servers['graph'].url}/_devstack/faults")


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    state = Subscriber()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            token = query.get("validationToken", [None])[0]
            if token is not None:
                if state.mode == "slow":
                    time.sleep(1.5)
                answer = token if state.mode == "echo" else "nope"
                self._send(200, answer.encode(), "text/plain")
                return
            delay = state.delays.pop(0) if state.delays else 0.0
            status = state.answers.pop(0) if state.answers else 202
            if delay:
                time.sleep(delay)
            state.received.append(json.loads(raw))
            state.arrived.set()
            with contextlib.suppress(OSError):  # the sender may have given up waiting
                self._send(status, b"", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/api/webhooks/graph"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
