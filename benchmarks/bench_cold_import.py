"""Cold import: `import function_app` (and indexing it) against `import azure.functions`.

The budget (issue 8): importing and indexing the app costs at most 1.3x what importing
azure.functions costs, so a cold start pays for the SDKs only on the route that needs them.
Each sample is a fresh interpreter; the interpreter's own start (`python -c pass`) is
subtracted, and the median of N runs is reported.

Measured with telemetry off and on (issue 13: APPLICATIONINSIGHTS_CONNECTION_STRING set, to a
closed local port so nothing leaves the machine). On, the import must not configure it: the
pipeline is built on the first run or HTTP session (docs/telemetry.md), reported separately
as "first use" (what the first invocation pays once per instance, not the cold import).

    .venv/bin/python -m benchmarks.bench_cold_import [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = "import function_app; function_app.app.get_functions()"
# The first use with telemetry on; os._exit: not the exporter's shutdown against the closed port.
FIRST_USE = INDEX + "; from shared import telemetry; telemetry.ensure(); import os; os._exit(0)"
OFF: dict[str, str] = {}
ON = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING": (
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/"
    ),
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD",
}
CASES: dict[str, tuple[str, dict[str, str]]] = {
    "python -c pass": ("pass", OFF),
    "import azure.functions": ("import azure.functions", OFF),
    "import function_app + index": (INDEX, OFF),
    "same, telemetry on": (INDEX, ON),
    "telemetry on + first use": (FIRST_USE, ON),
}
_TELEMETRY = ("APPLICATIONINSIGHTS_", "TELEMETRY_CONSOLE")


def sample(code: str, env: dict[str, str]) -> float:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_TELEMETRY)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, check=True, timeout=60)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    medians: dict[str, float] = {}
    for name, (code, env) in CASES.items():
        sample(code, env)  # warm the OS file cache: we measure imports, not the disk
        medians[name] = statistics.median(sample(code, env) for _ in range(args.runs))
    base = medians["python -c pass"]
    sdk = medians["import azure.functions"] - base
    app = medians["import function_app + index"] - base
    app_on = medians["same, telemetry on"] - base
    first_use = medians["telemetry on + first use"] - medians["same, telemetry on"]
    for name, value in medians.items():
        print(f"{name:32s} {value * 1000:7.1f} ms (median of {args.runs})")
    print(f"azure.functions import          {sdk * 1000:7.1f} ms over the interpreter's start")
    print(f"function_app import + index     {app * 1000:7.1f} ms over the interpreter's start")
    print(f"ratio, telemetry off            {app / sdk:7.2f} (budget 1.30)")
    print(f"ratio, telemetry on             {app_on / sdk:7.2f} (budget 1.30)")
    print(f"telemetry's first use           {first_use * 1000:7.1f} ms (once per instance, first invocation)")


if __name__ == "__main__":
    main()
