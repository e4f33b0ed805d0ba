"""Requests per second and latency of `GET /api/health` through the local Functions host.

    .venv/bin/python -m benchmarks.bench_health [--threads 8] [--seconds 10] [--url URL]

Without --url it starts `python -m devstack up` on a free port with a temporary state dir (and
stops it afterwards); with --url it measures an already running host. Each thread opens a new
connection per request: werkzeug's server closes every connection, as the numbers then show.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def _start_stack(state_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "up", "--port", "0", "--state-dir", str(state_dir)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Per-invocation INFO lines would measure the terminal, not the host.
        env={**os.environ, "DEVSTACK_LOG_LEVEL": "WARNING"},
    )
    log.close()
    state_path = state_dir / "state.json"
    deadline = time.monotonic() + 90
    while not state_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise SystemExit(f"devstack up did not start; see {log_path}")
        time.sleep(0.1)
    return process, str(json.loads(state_path.read_text())["baseUrl"]) + "/health"


def _worker(url: str, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    parts = urlsplit(url)
    mine: list[float] = []
    failed = 0
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        try:
            connection.request("GET", parts.path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failed += 1
        except OSError:
            failed += 1
        finally:
            connection.close()
        mine.append(time.perf_counter() - started)
    latencies.extend(mine)
    errors.append(failed)


def measure(url: str, threads: int, seconds: float) -> dict[str, float]:
    """Run `threads` clients for `seconds`; requests per second and p50/p99 latency in ms."""
    latencies: list[float] = []
    errors: list[int] = []
    _worker(url, time.perf_counter() + 1.0, [], [])  # warm-up: imports, first connections
    stop_at = time.perf_counter() + seconds
    workers = [
        threading.Thread(target=_worker, args=(url, stop_at, latencies, errors)) for _ in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": sum(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def main() -> None:
    """Parse options, start the stack if needed, measure and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--url", help="an already running host's health URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process = None
        url = args.url
        if url is None:
            process, url = _start_stack(Path(tmp) / "state", Path(tmp) / "devstack.log")
        try:
            result = measure(url, args.threads, args.seconds)
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
    print(f"GET {url}: {args.threads} threads, {args.seconds:.0f} s")
    print(f"  requests {result['requests']:.0f}, errors {result['errors']:.0f}")
    print(f"  {result['rps']:.0f} requests/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
