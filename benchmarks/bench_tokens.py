"""Warm Connection.token() overhead per connection kind, and network calls per 1,000 invocations.

    .venv/bin/python -m benchmarks.bench_tokens [--calls 10000]

Starts the offline tenant, then measures each credential kind in a fresh Python process (a
cold start: the azure-keyvault packages keep a process-wide challenge cache, so a kind measured
after another would inherit its challenge), and reports (1) median and p99 microseconds of a
warm `token()` and (2) the requests each emulator counted (`/_devstack/requests`) for 1,000
invocations, with Key Vault's by operation, against the minimum: one token per connection and
resource per token lifetime, one Key Vault read per certificate/secret version (plus the
identity's vault token; keyvault-key signs once per assertion), and one unauthenticated
challenge request (401) per azure-keyvault package the kind uses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from devstack.offline_tenant import OfflineTenant
from shared.identity import connection, reset_connections

GRAPH = "https://graph.microsoft.com"
EMULATORS = ("identity", "entra", "keyvault", "graph")
# Minimum requests for the first token (identity, entra, keyvault); entra includes msal's discovery
# GET; keyvault one challenge per azure-keyvault package used (the protocol; not to be skipped).
MINIMUM = {
    "managed-identity": (1, 0, 0),
    "certificate": (1, 2, 2),  # secrets: challenge + secret
    "client-secret": (1, 2, 2),  # secrets: challenge + secret
    "federated-identity": (1, 2, 0),
    "keyvault-key": (1, 2, 4),  # certificates: challenge + certificate; keys: challenge + sign
}


def _counts(stack: OfflineTenant, session: requests.Session, reset: bool = False) -> dict[str, int]:
    out = {}
    for name in EMULATORS:
        base = f"{stack.servers[name].url}/_devstack/requests"
        if reset:
            session.delete(base, timeout=5)
        out[name] = int(session.get(base, timeout=5).json()["total"])
    return out


def _connection_env(state: dict[str, object]) -> dict[str, str]:
    app_state = state["app"]
    assert isinstance(app_state, dict)
    app = {"TENANT_ID": str(state["tenantId"]), "CLIENT_ID": str(app_state["clientId"])}
    kinds: dict[str, dict[str, str]] = {
        "managed-identity": {},
        "certificate": {**app, "CERTIFICATE": "entra-automation-cert"},
        "client-secret": {**app, "SECRET": "entra-automation-secret"},
        "federated-identity": dict(app),
        "keyvault-key": {**app, "KEY": "entra-automation-signing"},
    }
    env = {}
    for kind, fields in kinds.items():
        name = kind.replace("-", "_").upper()
        env[f"CONNECTIONS__{name}__CREDENTIAL"] = kind
        for field_name, value in fields.items():
            env[f"CONNECTIONS__{name}__{field_name}"] = value
    return env


def measure(kind: str, calls: int, servers: dict[str, str], ca: str) -> dict[str, object]:
    """In this (fresh) process: 1,000 cold-start invocations counted, then `calls` warm ones timed."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    stack_urls = {name: servers[name] for name in EMULATORS}

    def counts(reset: bool = False) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, url in stack_urls.items():
            base = f"{url}/_devstack/requests"
            if reset:
                session.delete(base, timeout=5)
            out[name] = session.get(base, timeout=5).json()
        return out

    reset_connections()
    counts(reset=True)
    conn = connection(kind.replace("-", "_"))
    for _ in range(1000):
        conn.token(GRAPH)
    seen = counts()
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        conn.token(GRAPH)
        samples.append((time.perf_counter_ns() - started) / 1000)
    samples.sort()
    return {
        "median": statistics.median(samples),
        "p99": samples[int(len(samples) * 0.99) - 1],
        "counts": seen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: measure one kind, print JSON
    args = parser.parse_args()
    if args.child:
        spec = json.loads(os.environ["BENCH_TOKENS_SPEC"])
        print(json.dumps(measure(args.child, args.calls, spec["servers"], spec["ca"])))
        return
    stack = OfflineTenant.start(Path(tempfile.mkdtemp(prefix="bench-tokens-")))
    try:
        state = stack.state()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "CONNECTIONS__"))}
        env.update(stack.app_settings())
        env.update(_connection_env(state))
        servers = {name: str(stack.servers[name].url) for name in EMULATORS}
        env["BENCH_TOKENS_SPEC"] = json.dumps({"servers": servers, "ca": state["caBundle"]})
        header = "requests per 1,000 invocations (identity/entra/keyvault)"
        print(f"{'kind':<20} {'median µs':>10} {'p99 µs':>8}   {header}")
        for kind in MINIMUM:
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_tokens",
                    "--child",
                    kind,
                    "--calls",
                    str(args.calls),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            seen = result["counts"]
            actual = "/".join(str(seen[e]["total"]) for e in ("identity", "entra", "keyvault"))
            minimum = "/".join(str(n) for n in MINIMUM[kind])
            by_op = ", ".join(f"{op} {n}" for op, n in sorted(seen["keyvault"]["byOperation"].items()))
            print(
                f"{kind:<20} {result['median']:>10.2f} {result['p99']:>8.2f}   {actual} (minimum {minimum})"
                + (f"  keyvault: {by_op}" if by_op else "")
            )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
