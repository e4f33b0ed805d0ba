"""Helpers for the identity tests that need a process of their own (a truly cold one).

`python -m tests.app.identity.support cold <connection>` asks the connection for a Graph
token from 20 threads at once in a fresh interpreter (nothing imported, nothing cached) and
prints how many distinct tokens came back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_cold(connection_name: str, env: dict[str, str]) -> int:
    """Run the 20-thread cold fetch in a fresh interpreter; the number of distinct tokens it saw."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.app.identity.support", "cold", connection_name],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def _cold(connection_name: str) -> None:
    from shared.identity import connection

    conn = connection(connection_name)
    barrier = threading.Barrier(20)
    tokens: list[str] = []

    def call() -> None:
        barrier.wait()
        tokens.append(conn.token("graph").value)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tokens) == 20
    print(len(set(tokens)))


if __name__ == "__main__":
    _cold(sys.argv[2])
