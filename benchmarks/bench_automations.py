"""Warm caller-token validation against PyJWT's bare decode, and the whoami round trip.

    .venv/bin/python -m benchmarks.bench_automations [--validations 3000] [--calls 200]

1. In-process offline tenant: Adele's token through msal's device code flow, then `validate()`
   (warm, key cache filled) vs `jwt.decode(token, key, algorithms=["RS256"], audience=...)` with
   the same key object, interleaved in the same run; network calls during the warm loop counted.
2. `python -m devstack up` on a free port: `POST /api/automations/whoami` (validation, OBO from
   msal's cache after the first call, Graph /me, the ledger write) p50/p99 over `--calls` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.offline_tenant import OfflineTenant  # noqa: E402
from shared.auth import SigningKeys, TokenPolicy, validate  # noqa: E402
from tests import caller_tokens as ct  # noqa: E402


def _session(ca: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = ca
    return s


def bench_validation(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = OfflineTenant.start(Path(tmp))
        try:
            entra = str(stack.servers["entra"].url)
            tid = stack.tenant.tenant_id
            ca = stack.state()["caBundle"]
            token = ct.user_token(entra, tid, ca, ct.ADELE)
            http = _session(ca)
            fetched: list[str] = []

            def fetch(url: str) -> Mapping[str, Any]:
                fetched.append(url)
                body: dict[str, Any] = http.get(url, timeout=10).json()
                return body

            keys = SigningKeys(entra, tid, fetch=fetch)
            audiences = frozenset({ct.API_APP, f"api://{ct.API_APP}"})
            policy = TokenPolicy(keys, audiences=audiences, tenants=frozenset({tid}))
            validate(token, policy)  # cold: configuration + JWKS
            key = keys.key(jwt.get_unverified_header(token)["kid"])
            cold_calls = len(fetched)
            ours: list[float] = []
            bare: list[float] = []
            for _ in range(n):
                t0 = time.perf_counter()
                validate(token, policy)
                t1 = time.perf_counter()
                jwt.decode(token, key, algorithms=["RS256"], audience=list(audiences))
                t2 = time.perf_counter()
                ours.append(t1 - t0)
                bare.append(t2 - t1)
            return {
                "validate_us": statistics.median(ours) * 1e6,
                "pyjwt_decode_us": statistics.median(bare) * 1e6,
                "ratio": statistics.median(ours) / statistics.median(bare),
                "cold_network_calls": cold_calls,
                "warm_network_calls": len(fetched) - cold_calls,
            }
        finally:
            stack.stop()


def bench_whoami(calls: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        log = (Path(tmp) / "devstack.log").open("wb")
        env = {**os.environ, "DEVSTACK_LOG_LEVEL": "WARNING", "AUTOMATIONS__CONNECTION": "graph_cert"}
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up", "--port", "0", "--state-dir", str(state_dir)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + 120
            while not (state_dir / "state.json").exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("devstack up did not start")
                time.sleep(0.2)
            state = json.loads((state_dir / "state.json").read_text())
            token = ct.user_token(
                state["authorityHost"], state["tenantId"], state["caBundle"], ct.ADELE, fresh=True
            )
            plain = requests.Session()
            plain.trust_env = False
            url = f"{state['baseUrl']}/automations/whoami"
            headers = {"Authorization": f"Bearer {token}"}
            t0 = time.perf_counter()
            first = plain.post(url, json={}, headers=headers, timeout=60)
            cold = time.perf_counter() - t0
            assert first.status_code == 200, first.text
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                r = plain.post(url, json={}, headers=headers, timeout=60)
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
            times.sort()
            return {
                "cold_ms": cold * 1000,
                "p50_ms": times[len(times) // 2] * 1000,
                "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
            }
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validations", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    v = bench_validation(args.validations)
    print(
        f"validation (median of {args.validations}): ours {v['validate_us']:.1f} us, "
        f"PyJWT bare decode {v['pyjwt_decode_us']:.1f} us, ratio {v['ratio']:.2f}x (goal <= 1.5x); "
        f"network calls cold {v['cold_network_calls']:.0f}, warm {v['warm_network_calls']:.0f}"
    )
    w = bench_whoami(args.calls)
    print(
        f"whoami on the local host ({args.calls} calls): cold {w['cold_ms']:.1f} ms, "
        f"p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
