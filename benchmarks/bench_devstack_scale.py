"""How long the offline tenant takes to start with the scale seed (run by hand).

    .venv/bin/python -m benchmarks.bench_devstack_scale [N ...]

Reports, for each N (default 0, 2,500 and 10,000), the seconds `OfflineTenant.start(scale=N)`
takes (servers, keys, seed and the generated objects) and the generated facts' summary.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from devstack.offline_tenant import OfflineTenant


def main(sizes: list[int]) -> None:
    for n in sizes:
        with tempfile.TemporaryDirectory() as state_dir:
            started = time.perf_counter()
            stack = OfflineTenant.start(Path(state_dir), scale=n)
            elapsed = time.perf_counter() - started
            try:
                summary = stack.scale.summary() if stack.scale else {}
            finally:
                stack.stop()
        print(json.dumps({"scale": n, "startSeconds": round(elapsed, 2), **summary}))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 2500, 10000])
