"""Warm get_token overhead per connection kind, and network calls per 1,000 invocations.

    .venv/bin/python -m benchmarks.bench_tokens [--calls 10000]

Starts the offline tenant in-process, configures one connection per credential kind, and
reports (1) median and p99 microseconds of a warm `get_token` and (2) the requests each
emulator counted (`/_devstack/requests`) for 1,000 invocations from a cold start, against the
minimum: one token per connection and resource per token lifetime, one Key Vault read per
certificate/secret version (plus the identity's vault token; keyvault-key also signs once
per assertion). Key Vault counts include the unauthenticated challenge request (401) per SDK client.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests

from devstack.offline_tenant import OfflineTenant
from shared.connections import get_connection, reset_connections

GRAPH = "https://graph.microsoft.com"
EMULATORS = ("identity", "entra", "keyvault", "graph")
# Minimum requests for the first token (identity, entra, keyvault); entra includes msal's discovery GET.
MINIMUM = {
    "managed-identity": (1, 0, 0),
    "certificate": (1, 2, 1),
    "client-secret": (1, 2, 1),
    "federated-identity": (1, 2, 0),
    "keyvault-key": (1, 2, 3),  # certificate, key (CryptographyClient), sign
}


def _counts(stack: OfflineTenant, session: requests.Session, reset: bool = False) -> dict[str, int]:
    out = {}
    for name in EMULATORS:
        base = f"{stack.servers[name].url}/_devstack/requests"
        if reset:
            session.delete(base, timeout=5)
        out[name] = int(session.get(base, timeout=5).json()["total"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    stack = OfflineTenant.start(Path(tempfile.mkdtemp(prefix="bench-tokens-")))
    try:
        for key in [k for k in os.environ if k.startswith(("AZURE_", "CONNECTIONS__"))]:
            del os.environ[key]
        os.environ.update(stack.app_settings())
        state = stack.state()
        app = {"TENANT_ID": state["tenantId"], "CLIENT_ID": state["app"]["clientId"]}
        kinds = {
            "managed-identity": {},
            "certificate": {**app, "CERTIFICATE": "entra-automation-cert"},
            "client-secret": {**app, "SECRET": "entra-automation-secret"},
            "federated-identity": dict(app),
            "keyvault-key": {**app, "KEY": "entra-automation-signing"},
        }
        for kind, fields in kinds.items():
            name = kind.replace("-", "_").upper()
            os.environ[f"CONNECTIONS__{name}__CREDENTIAL"] = kind
            for field_name, value in fields.items():
                os.environ[f"CONNECTIONS__{name}__{field_name}"] = value
        session = requests.Session()
        session.trust_env = False
        session.verify = state["caBundle"]
        header = "requests per 1,000 invocations (identity/entra/keyvault)"
        print(f"{'kind':<20} {'median µs':>10} {'p99 µs':>8}   {header}")
        for kind in kinds:
            reset_connections()
            _counts(stack, session, reset=True)
            conn = get_connection(kind.replace("-", "_"))
            for _ in range(1000):
                conn.get_token(GRAPH)
            seen = _counts(stack, session)
            samples = []
            for _ in range(args.calls):
                started = time.perf_counter_ns()
                conn.get_token(GRAPH)
                samples.append((time.perf_counter_ns() - started) / 1000)
            samples.sort()
            p99 = samples[int(len(samples) * 0.99) - 1]
            minimum = "/".join(str(n) for n in MINIMUM[kind])
            actual = f"{seen['identity']}/{seen['entra']}/{seen['keyvault']}"
            print(
                f"{kind:<20} {statistics.median(samples):>10.2f} {p99:>8.2f}   {actual} (minimum {minimum})"
            )
    finally:
        reset_connections()
        stack.stop()


if __name__ == "__main__":
    main()
