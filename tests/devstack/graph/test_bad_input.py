"""Graph refuses malformed batches, tokens, URLs and bodies with its own 400s, never a 5xx."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from tests.devstack.graph.support import error, subscription


def _batch(api: requests.Session, graph: str, items: Any) -> requests.Response:
    return api.post(
        f"{graph}/$batch", data=json.dumps({"requests": items}), headers={"Content-Type": "application/json"}
    )


GOOD = {"id": "1", "method": "GET", "url": "/users?$top=1"}


@pytest.mark.parametrize(
    "item",
    [
        {**GOOD, "id": 1},
        {**GOOD, "id": ["1"]},
        {**GOOD, "method": ["GET"]},
        {**GOOD, "method": "BREW"},
        {**GOOD, "url": None},
        {**GOOD, "url": 7},
        {**GOOD, "url": "/users with space"},
        {**GOOD, "headers": ["x"]},
        {**GOOD, "headers": {"X-A": 1}},
        {**GOOD, "headers": {"X-A": "a\r\nInjected: 1"}},
        {**GOOD, "headers": {"Bad Name": "v"}},
        {**GOOD, "dependsOn": "2"},
        {**GOOD, "dependsOn": [2]},
        "not an object",
        None,
    ],
)
def test_batch_items_of_the_wrong_type_are_400(api: requests.Session, graph: str, item: Any) -> None:
    """Each malformed item field makes the batch a 400 BadRequest in Graph's shape."""
    response = _batch(api, graph, [item])
    assert error(response)[:2] == (400, "BadRequest")


def test_batch_item_bodies_of_any_json_type_are_sent(api: requests.Session, graph: str) -> None:
    """A number or string as an item body reaches the item (its own 4xx), not a crash."""
    items = [
        {"id": str(i), "method": "POST", "url": "/users", "body": b} for i, b in enumerate([5, "x", True])
    ]
    response = _batch(api, graph, items)
    assert response.status_code == 200
    assert all(400 <= r["status"] < 500 for r in response.json()["responses"])


@pytest.mark.parametrize(
    "url",
    [
        "/$batch",
        "$batch",
        "/%24batch",
        "%24BATCH",
        "/v1.0/$batch",
        "https://graph.microsoft.com/v1.0/%24batch",
    ],
)
def test_nested_batch_is_refused_however_spelled(api: requests.Session, graph: str, url: str) -> None:
    """A batch may not contain a batch, whatever the URL's case or percent-encoding."""
    response = _batch(api, graph, [{"id": "1", "method": "POST", "url": url, "body": {"requests": [GOOD]}}])
    assert error(response) == (400, "BadRequest", "A batch request cannot contain another batch request.")


def test_twenty_by_twenty_is_one_refused_call(
    devstack: OfflineTenant, api: requests.Session, graph: str, graph_base: str
) -> None:
    """20 items each a batch of 20: refused at once, no inner request is run."""
    inner = {"requests": [{**GOOD, "id": str(i)} for i in range(20)]}
    items = [{"id": str(i), "method": "POST", "url": "/%24batch", "body": inner} for i in range(20)]
    api.delete(f"{graph_base}/_devstack/requests")
    assert _batch(api, graph, items).status_code == 400
    counts = api.get(f"{graph_base}/_devstack/requests").json()
    assert counts["byOperation"] == {"Batch": 1}


def test_deep_json_bodies_are_400(api: requests.Session, graph: str) -> None:
    """JSON nested thousands deep is refused as unreadable, never a RecursionError."""
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/$batch", "/subscriptions"):
        response = api.post(f"{graph}{path}", data=deep, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] in ("BadRequest", "InvalidRequest")


def _skiptoken(payload: bytes) -> str:
    return "X" + base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "!!",
        "X",
        _skiptoken(b'{"v": 1, "o": Infinity}'),
        _skiptoken(b'{"v": 1, "o": 1e400}'),
        _skiptoken(b'{"v": 1, "o": -1}'),
        _skiptoken(b'{"v": 1, "o": [1]}'),
        _skiptoken(b"[" * 1500 + b"]" * 1500),
        _skiptoken(b"\xff\xfe"),
    ],
)
def test_garbage_skiptoken_is_400(api: requests.Session, graph: str, token: str) -> None:
    """A $skiptoken Graph did not write is a 400 BadRequest."""
    response = api.get(f"{graph}/users", params={"$skiptoken": token})
    assert error(response)[:2] == (400, "BadRequest")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "https://host:99999/x",
        "https://exa mple.com/x",
        "https://",
        "ftp://x/y",
        5,
        ["https://x"],
    ],
)
def test_malformed_notification_url_is_400(api: requests.Session, graph: str, url: Any) -> None:
    """A notificationUrl that is not an https URL (or loopback http) is refused before any call."""
    response = api.post(f"{graph}/subscriptions", json=subscription(url))
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("InvalidRequest", "BadRequest")


@pytest.fixture
def trickler() -> Iterator[str]:
    """A subscriber that answers its validation one byte every 0.2 s (it would take minutes)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    stop = threading.Event()

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            for byte in (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n" + b"a" * 500
            ):
                if stop.wait(0.2):
                    return
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    listener.close()
    thread.join(5)


def test_validation_deadline_bounds_the_whole_exchange(
    devstack: OfflineTenant, api: requests.Session, graph: str, trickler: str
) -> None:
    """A subscriber trickling its answer cannot hold the create call past the deadline (1 s here)."""
    store = devstack.emulators["graph"].subscriptions  # type: ignore[attr-defined]
    saved = store.validation_timeout_s
    store.validation_timeout_s = 1.0
    try:
        started = time.monotonic()
        response = api.post(f"{graph}/subscriptions", json=subscription(trickler))
        elapsed = time.monotonic() - started
    finally:
        store.validation_timeout_s = saved
    assert error(response) == (400, "ValidationError", "Subscription validation request timed out.")
    assert elapsed < 3
