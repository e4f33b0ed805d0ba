"""Cold import: `import function_app` (and indexing it) against `import azure.functions`.

The budget (issue 8): importing and indexing the app costs at most 1.3x what importing
azure.functions costs, so a cold start pays for the SDKs only on the route that needs them.
Each sample is a fresh interpreter; the interpreter's own start (`python -c pass`) is
subtracted, and the median of N runs is reported.

    .venv/bin/python -m benchmarks.bench_cold_import [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "python -c pass": "pass",
    "import azure.functions": "import azure.functions",
    "import function_app + index": "import function_app; function_app.app.get_functions()",
}


def sample(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    medians: dict[str, float] = {}
    for name, code in CASES.items():
        sample(code)  # warm the OS file cache: we measure imports, not the disk
        medians[name] = statistics.median(sample(code) for _ in range(args.runs))
    base = medians["python -c pass"]
    sdk = medians["import azure.functions"] - base
    app = medians["import function_app + index"] - base
    for name, value in medians.items():
        print(f"{name:32s} {value * 1000:7.1f} ms (median of {args.runs})")
    print(f"azure.functions import          {sdk * 1000:7.1f} ms over the interpreter's start")
    print(f"function_app import + index     {app * 1000:7.1f} ms over the interpreter's start")
    print(f"ratio                           {app / sdk:7.2f} (budget 1.30)")


if __name__ == "__main__":
    main()
