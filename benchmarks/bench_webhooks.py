"""Webhook receivers on the local host: ack latency with the durable enqueue, handshake latency,
and sustained events per second until the first refusal.

    .venv/bin/python -m benchmarks.bench_webhooks [--requests 300] [--threads 8] [--seconds 20]

Starts `python -m devstack up` on a free port (Azurite, the offline tenant, function_app), sets
the Graph clientState and a Standard Webhooks secret through Key Vault's control endpoint,
then measures from client threads using `http.client` (one connection per request, as
werkzeug's server closes each). Acks include the enqueue to Azurite; the queue processor runs
meanwhile, as it would. Goals (docs/webhooks.md): ack p99 <= 100 ms, validation p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TENANT = "434b7530-0ab7-490d-b439-d97439cdf1c4"
CLIENT_STATE = "bench-" + uuid.uuid4().hex
STANDARD_SECRET = "whsec_" + base64.b64encode(b"bench secret of thirty-two bytes").decode()

Request = tuple[str, str, dict[str, str], bytes]  # method, path?query, headers, body


def _start_stack(state_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up", "--port", "0", "--state-dir", str(state_dir)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DEVSTACK_LOG_LEVEL": "WARNING"},
        )
    state_path = state_dir / "state.json"
    deadline = time.monotonic() + 120
    while not state_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise SystemExit(f"devstack up did not start; see {log_path}")
        time.sleep(0.1)
    return process, dict(json.loads(state_path.read_text()))


def _put_secret(state: dict[str, Any], name: str, value: str) -> None:
    parts = urlsplit(state["keyVaultUrl"])
    context = ssl.create_default_context(cafile=state["caBundle"])
    connection = http.client.HTTPSConnection(
        parts.hostname or "127.0.0.1", parts.port, context=context, timeout=10
    )
    connection.request(
        "PUT",
        f"/_devstack/secrets/{name}",
        json.dumps({"value": value}),
        {"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"setting {name} failed: {response.status}")


def _send(base: str, request: Request) -> tuple[int, float]:
    parts = urlsplit(base)
    method, path, headers, body = request
    started = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(method, parts.path + path, body, headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, time.perf_counter() - started


def graph_notification(key: str) -> Request:
    n = {
        "subscriptionId": "5b3a4a6c-0000-4000-8000-00000000be5c",
        "changeType": "updated",
        "resource": f"users/{uuid.uuid4()}",
        "resourceData": {"id": "x"},
        "clientState": CLIENT_STATE,
        "tenantId": TENANT,
    }
    headers = {"x-functions-key": key, "Content-Type": "application/json"}
    return "POST", "/webhooks/graph", headers, json.dumps({"value": [n]}).encode()


def graph_validation(key: str) -> Request:
    return (
        "POST",
        "/webhooks/graph?validationToken=Validation%3A%20Testing%20client",
        {"x-functions-key": key},
        b"",
    )


def eventgrid_event(key: str) -> Request:
    event = {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
        "subject": "/blobServices/default/containers/c/blobs/b",
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": "2026-12-01T10:00:00Z",
        "data": {"api": "PutBlob"},
        "dataVersion": "1",
    }
    headers = {"x-functions-key": key, "Content-Type": "application/json", "aeg-event-type": "Notification"}
    return "POST", "/webhooks/eventgrid", headers, json.dumps([event]).encode()


def cloudevent_binary(key: str) -> Request:
    """A CloudEvents 1.0 event in binary mode: attributes as ce-* headers, the body its data."""
    headers = {
        "x-functions-key": key,
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": "/bench/binary",
        "ce-type": "com.example.bench",
    }
    return "POST", "/webhooks/eventgrid", headers, json.dumps({"n": 1}).encode()


def signed_standard(key: str) -> Request:
    import hashlib
    import hmac

    body = json.dumps({"type": "invoice.paid", "id": str(uuid.uuid4())}).encode()
    msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
    secret = base64.b64decode(STANDARD_SECRET.removeprefix("whsec_"))
    sig = base64.b64encode(
        hmac.new(secret, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": f"v1,{sig}",
        "Content-Type": "application/json",
    }
    return "POST", "/webhooks/signed/standard", headers, body


def latency(base: str, build: Callable[[], Request], count: int) -> dict[str, float]:
    """Sequential requests: p50/p99 in ms and the statuses seen."""
    for _ in range(5):
        _send(base, build())  # warm-up: imports, secret and storage clients
    samples, statuses = [], set()
    for _ in range(count):
        status, seconds = _send(base, build())
        statuses.add(status)
        samples.append(seconds * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 1),
        "statuses": sorted(statuses),  # type: ignore[dict-item]
    }


def sustained(base: str, build: Callable[[], Request], threads: int, seconds: float) -> dict[str, float]:
    """Events per second from `threads` senders until the first non-2xx (or `seconds`)."""
    stop = threading.Event()
    accepted: list[int] = []
    first_refusal: list[float] = []
    started = time.perf_counter()

    def run() -> None:
        mine = 0
        while not stop.is_set() and time.perf_counter() - started < seconds:
            status, _ = _send(base, build())
            if 200 <= status < 300:
                mine += 1
            else:
                first_refusal.append(time.perf_counter() - started)
                stop.set()
        accepted.append(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = min(first_refusal) if first_refusal else time.perf_counter() - started
    return {
        "events_per_s": round(sum(accepted) / elapsed, 1),
        "seconds": round(elapsed, 1),
        "refused": bool(first_refusal),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process, state = _start_stack(Path(tmp) / "state", Path(tmp) / "devstack.log")
        try:
            _put_secret(state, "webhook-graph-clientstate", CLIENT_STATE)
            _put_secret(state, "webhook-standard", STANDARD_SECRET)
            base, key = state["baseUrl"], state["functionKey"]
            results: dict[str, Any] = {
                "validation (graph handshake)": latency(base, lambda: graph_validation(key), args.requests),
                "ack graph": latency(base, lambda: graph_notification(key), args.requests),
                "ack eventgrid": latency(base, lambda: eventgrid_event(key), args.requests),
                "ack cloudevents (binary)": latency(base, lambda: cloudevent_binary(key), args.requests),
                "ack signed (standard webhooks)": latency(base, lambda: signed_standard(key), args.requests),
                f"sustained eventgrid, {args.threads} senders": sustained(
                    base, lambda: eventgrid_event(key), args.threads, args.seconds
                ),
            }
            print(json.dumps(results, indent=2))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


if __name__ == "__main__":
    main()
