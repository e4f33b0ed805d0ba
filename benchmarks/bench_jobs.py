"""credential-expiry at scale: 10,000 apps with the throttling model on, and 50 fanned-out tenants.

    .venv/bin/python -m benchmarks.bench_jobs [--apps 10000] [--tenants 50] [--units-per-10s 20]

Starts the offline tenant with the scale seed and an in-memory Azurite, then:
1. one run over `--apps` app registrations, the Graph throttling model on with a small bucket
   (`--units-per-10s`, so the run must wait): wall time, Graph requests against the minimum
   (⌈apps/999⌉ + ⌈service principals/999⌉ pages), throttled answers, seconds waited, the rate
   achieved against the bucket's, and ledger writes;
2. one run fanned out over `--tenants` connections (queue messages delivered by a pump that
   behaves like the Functions host), each reading a tenant of `--fan-out-apps` apps (the one
   offline tenant again: one machine serves all 50): wall time, requests, ledger writes per child.

Goals (issue 9): minimum requests, >= 90 % of the bucket's rate, ledger writes O(1) per child.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from devstack.azurite import Azurite
from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.identity import reset_connections
from shared.jobs import _connections
from shared.jobs._engine import Engine
from shared.runs import Kind, Ledger
from shared.storage import StorageTarget, open_account, use_account
from tests.app.context.support import sample_connections
from tests.app.jobs.support import Pump
from tests.conftest import tls_session

ROOT = Path(__file__).resolve().parent.parent
JOB = "credential-expiry"


def _env(stack: OfflineTenant, azurite: Azurite, tenants: int) -> None:
    os.environ.update(stack.app_settings())
    os.environ.update(sample_connections())
    os.environ.update({"AzureWebJobsStorage": azurite.connection_string})
    os.environ["JOB_CREDENTIAL_EXPIRY_CONNECTION"] = "graph_cert"
    cert = {
        k.split("__", 2)[2]: v
        for k, v in sample_connections().items()
        if k.startswith("CONNECTIONS__GRAPH_CERT__")
    }
    for i in range(tenants):
        for field, value in cert.items():
            os.environ[f"CONNECTIONS__TENANT{i:02d}__{field}"] = value
    reset_connections()
    _connections.reset()


def _throttling(stack: OfflineTenant, body: dict[str, Any]) -> dict[str, Any]:
    with tls_session(stack.state()["caBundle"]) as http:
        resp = http.put(f"{stack.servers['graph'].url}/_devstack/throttling", json=body, timeout=10)
        resp.raise_for_status()
        return dict(resp.json())


def bench_single(stack: OfflineTenant, store: Any, units_per_10s: int) -> dict[str, Any]:
    _throttling(stack, {"enabled": True, "resourceUnitsPer10s": units_per_10s})
    runs = Ledger(store)
    engine = Engine(runs)
    started = time.monotonic()
    run = engine.run_now(JOB)
    wall = time.monotonic() - started
    report = json.loads(runs.read_output(run) or b"{}")
    sources = report.get("sources", {})
    minimum = sum(math.ceil(max(1, s["objects"]) / 999) for k, s in sources.items() if k != "keyVault")
    # Each page costs 1 resource unit ($select -1, minimum 1): the bucket's rate in requests/s.
    bucket_rate = units_per_10s / 10
    busy = max(wall, 1e-9)
    return {
        "status": run.status.value,
        "error": run.to_dict()["error"],
        "wallSeconds": round(wall, 2),
        "graphRequests": run.graph.requests,
        "minimumRequests": minimum,
        "throttled": run.graph.throttled,
        "waitedSeconds": round(run.graph.waited_seconds, 2),
        "requestsPerSecond": round(run.graph.requests / busy, 3),
        "bucketRequestsPerSecond": bucket_rate,
        # The bucket starts full (one burst of `units_per_10s` requests); the rest flow at its rate.
        "shareOfBucketRate": round(max(0, run.graph.requests - units_per_10s) / busy / bucket_rate, 3),
        "ledgerWrites": runs.writes,
        "expired": report.get("summary", {}).get("expired"),
        "expiring": report.get("summary", {}).get("expiring"),
    }


def bench_fan_out(stack: OfflineTenant, store: Any, tenants: int) -> dict[str, Any]:
    _throttling(stack, {"enabled": True, "resourceUnitsPer10s": None})
    os.environ["JOB_CREDENTIAL_EXPIRY_CONNECTIONS"] = ",".join(f"tenant{i:02d}" for i in range(tenants))
    try:
        runs = Ledger(store)
        engine = Engine(runs)
        started = time.monotonic()
        parent, _ = engine.request(JOB)
        Pump(store, engine).drain(rounds=200)
        wall = time.monotonic() - started
        final = runs.get(Kind.JOB, JOB, parent.id)
        assert final is not None
    finally:
        del os.environ["JOB_CREDENTIAL_EXPIRY_CONNECTIONS"]
    children = final.detail.get("children", {})
    return {
        "status": final.status.value,
        "children": children.get("total"),
        "succeeded": children.get("succeeded"),
        "wallSeconds": round(wall, 2),
        "graphRequests": final.graph.requests,
        "throttled": final.graph.throttled,
        "waitedSeconds": round(final.graph.waited_seconds, 2),
        "ledgerWrites": runs.writes,
        "ledgerWritesPerChild": round(runs.writes / max(1, tenants), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--units-per-10s", type=int, default=4)
    # Each tenant of the fan-out is the offline tenant again, seeded smaller (one machine serves all).
    parser.add_argument("--fan-out-apps", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        azurite = Azurite.start(ROOT, Path(tmp) / "azurite")
        store = open_account(
            StorageTarget("AzureWebJobsStorage", connection_string=azurite.connection_string)
        )
        try:
            stack = OfflineTenant.start(Path(tmp) / "tenant", scale=args.apps)
            try:
                _env(stack, azurite, args.tenants)
                assert stack.scale is not None
                with use_account(store), clock.use(clock.ManualClock(stack.scale.now)):
                    single = bench_single(stack, store, args.units_per_10s)
                print(json.dumps({"apps": args.apps, "single": single}, indent=2), flush=True)
            finally:
                stack.stop()
            if not args.tenants:
                return
            small = OfflineTenant.start(Path(tmp) / "tenant-small", scale=args.fan_out_apps)
            try:
                _env(small, azurite, args.tenants)
                assert small.scale is not None
                with use_account(store), clock.use(clock.ManualClock(small.scale.now)):
                    fan_out = bench_fan_out(small, store, args.tenants)
                summary = {"appsPerTenant": args.fan_out_apps, "tenants": args.tenants, "fanOut": fan_out}
                print(json.dumps(summary, indent=2))
            finally:
                small.stop()
        finally:
            store.close()
            azurite.stop()


if __name__ == "__main__":
    main()
