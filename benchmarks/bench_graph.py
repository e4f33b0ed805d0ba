"""The Graph client listing many users under the emulator's throttling model, and its overhead.

    .venv/bin/python -m benchmarks.bench_graph [--users 10000] [--top 100] [--bucket 20] [--calls 1000]

Starts the offline tenant in this process with the scale seed's `--users` users, then:

1. Lists every user (`$select=id,displayName`, `$top` = `--top`) through `GraphClient` with the
   throttling model on and its bucket shrunk to `--bucket` resource units per 10 s
   (`PUT /_devstack/throttling`), so the listing outruns it. Reports requests against the
   minimum (one per page; 429s are the extra), failed requests, seconds waited, resource units
   used against the bucket, and the rate achieved while throttled against the bucket's rate.
2. With throttling off, `--calls` GETs of one user through `GraphClient` and through a bare
   `requests.Session` (same TLS session settings, same URL, same headers), interleaved in
   blocks, and reports the client's time per request against the bare session's; then the
   same with both sessions answered from memory (a canned transport adapter), where the
   emulator's own time no longer hides the client's.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import GRAPH_APP_ID
from shared.graph import GraphClient

GRAPH = "https://graph.microsoft.com"


def _session(ca: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = ca
    return s


def _token(stack: OfflineTenant) -> str:
    tenant = stack.tenant
    app = tenant.app_by_name("entra-automation")
    assert app is not None
    roles = sorted(tenant.roles_for(app.sp_object_id, GRAPH_APP_ID))
    token, _ = tenant.issuer.issue(app.principal(), GRAPH, roles=roles)
    return str(token)


def _control(session: requests.Session, base: str, method: str, path: str, **kw: Any) -> requests.Response:
    return session.request(method, f"{base}/_devstack/{path}", timeout=10, **kw)


def throttled_listing(stack: OfflineTenant, ca: str, top: int, bucket: int) -> dict[str, Any]:
    base = stack.state()["graphUrl"]
    token = _token(stack)
    answers: list[tuple[float, int, float]] = []  # (when, status, resource units) per response

    def seen_answer(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        units = resp.headers.get("x-ms-resource-unit")
        answers.append((time.monotonic(), resp.status_code, float(units) if units else 0.0))

    with _session(ca) as control, _session(ca) as session:
        model = _control(
            control,
            base,
            "PUT",
            "throttling",
            json={"enabled": True, "tenantSize": "S", "resourceUnitsPer10s": bucket},
        )
        _control(control, base, "DELETE", "requests")
        session.hooks["response"].append(seen_answer)
        client = GraphClient(token=lambda: token, base_url=base, session=session)
        started = time.monotonic()
        with client.tracking() as usage:
            listed = sum(1 for _ in client.pages("/users", select=["id", "displayName"], top=top))
        elapsed = time.monotonic() - started
        served = _control(control, base, "GET", "requests").json()["byOperation"]
        _control(control, base, "PUT", "throttling", json={"enabled": False})
    first_429 = next((t for t, status, _ in answers if status == 429), None)
    rate = None
    if first_429 is not None:
        after = [(t, u) for t, status, u in answers if status < 400 and t > first_429]
        if after:
            rate = sum(u for _, u in after) / max(1e-9, after[-1][0] - first_429)
    return {
        "model": model.status_code < 300,
        "users": listed,
        "requests": usage.requests,
        "minimum": math.ceil(listed / top),
        "throttled": usage.throttled,
        "failed": sum(1 for _, status, _ in answers if status >= 400 and status != 429),
        "served": served.get("ListUsers", 0),
        "waited_s": usage.waited_seconds,
        "elapsed_s": elapsed,
        "resource_units": usage.resource_units,
        "throttled_rate": rate,
    }


def overhead(stack: OfflineTenant, ca: str, calls: int) -> dict[str, float]:
    base = stack.state()["graphUrl"]
    token = _token(stack)
    uid = stack.tenant.users[0].object_id
    url = f"{base}/v1.0/users/{uid}?$select=id"
    with _session(ca) as bare, _session(ca) as pooled:
        _control(bare, base, "PUT", "throttling", json={"enabled": False})
        client = GraphClient(token=lambda: token, base_url=base, session=pooled)
        headers = {"Authorization": f"Bearer {token}"}
        bare_times: list[float] = []
        client_times: list[float] = []
        for _ in range(20):  # warm both pools
            bare.get(url, headers=headers, timeout=10).json()
            client.get(f"/users/{uid}", select=["id"])
        block = 50
        for _ in range(max(1, calls // block)):
            t = time.perf_counter()
            for _ in range(block):
                resp = bare.get(url, headers={**headers, "client-request-id": str(uuid.uuid4())}, timeout=10)
                resp.raise_for_status()
                resp.json()
            bare_times.append((time.perf_counter() - t) / block)
            t = time.perf_counter()
            for _ in range(block):
                client.get(f"/users/{uid}", select=["id"])
            client_times.append((time.perf_counter() - t) / block)
    b, c = statistics.median(bare_times), statistics.median(client_times)
    return {"bare_ms": b * 1000, "client_ms": c * 1000, "ratio": c / b, "extra_us": (c - b) * 1e6}


class _CannedAdapter(requests.adapters.BaseAdapter):
    """Answers every request from memory: what is left to time is the client's own work."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        resp = requests.Response()
        resp.status_code = 200
        resp._content = self.body
        resp.headers["Content-Type"] = "application/json"
        resp.headers["x-ms-resource-unit"] = "1"
        resp.request = request
        resp.url = str(request.url)
        return resp

    def close(self) -> None:
        pass


def overhead_in_memory(calls: int) -> dict[str, float]:
    """The same comparison without a network: both sessions answered by one in-memory adapter."""
    body = b'{"id": "00000000-0000-0000-0000-000000000001"}'
    base = "https://graph.example"
    uid = "00000000-0000-0000-0000-000000000001"
    url = f"{base}/v1.0/users/{uid}?$select=id"
    bare, pooled = requests.Session(), requests.Session()
    for s in (bare, pooled):
        s.trust_env = False
        s.mount("https://", _CannedAdapter(body))
    client = GraphClient(token=lambda: "token", base_url=base, session=pooled)
    headers = {"Authorization": "Bearer token"}
    bare_times: list[float] = []
    client_times: list[float] = []
    block = 200
    for _ in range(max(1, calls // block)):
        t = time.perf_counter()
        for _ in range(block):
            resp = bare.get(url, headers={**headers, "client-request-id": str(uuid.uuid4())}, timeout=10)
            resp.raise_for_status()
            resp.json()
        bare_times.append((time.perf_counter() - t) / block)
        t = time.perf_counter()
        for _ in range(block):
            client.get(f"/users/{uid}", select=["id"])
        client_times.append((time.perf_counter() - t) / block)
    b, c = statistics.median(bare_times), statistics.median(client_times)
    return {"bare_ms": b * 1000, "client_ms": c * 1000, "ratio": c / b, "extra_us": (c - b) * 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=100)
    parser.add_argument("--bucket", type=int, default=20, help="resource units per 10 s")
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        stack = OfflineTenant.start(Path(tmp), scale=args.users)
        try:
            ca = stack.state()["caBundle"]
            r = throttled_listing(stack, ca, args.top, args.bucket)
            o = overhead(stack, ca, args.calls)
            m = overhead_in_memory(args.calls * 10)
        finally:
            stack.stop()
    rate = args.bucket / 10
    print(f"throttling model: {'on' if r['model'] else 'NOT AVAILABLE (the listing ran unthrottled)'}")
    print(f"users listed: {r['users']} with $top={args.top}")
    print(
        f"requests: {r['requests']} (minimum {r['minimum']}, {r['throttled']} answered 429, "
        f"{r['failed']} failed); Graph counted ListUsers {r['served']}"
    )
    print(f"elapsed {r['elapsed_s']:.1f} s, waited {r['waited_s']:.1f} s")
    print(
        f"resource units used: {r['resource_units']:.0f} against a bucket of {args.bucket} "
        f"per 10 s ({rate:.1f}/s)"
    )
    if r["throttled_rate"] is not None:
        print(
            f"rate while throttled: {r['throttled_rate']:.2f} RU/s = "
            f"{100 * r['throttled_rate'] / rate:.0f} % of the bucket's rate"
        )
    print(
        f"overhead per GET, in memory: client {m['client_ms'] * 1000:.0f} µs, bare requests.Session "
        f"{m['bare_ms'] * 1000:.0f} µs -> {m['ratio']:.2f}x ({m['extra_us']:+.0f} µs)"
    )
    print(
        f"overhead per GET, against the emulator: client {o['client_ms']:.3f} ms, "
        f"bare requests.Session {o['bare_ms']:.3f} ms "
        f"-> {o['ratio']:.2f}x ({o['extra_us']:+.0f} µs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
