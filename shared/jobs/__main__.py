"""`python -m shared.jobs run NAME [--connection C]`: run one job once, here, against the settings.

Also `python -m shared.jobs list`. Reads the same settings as the app (environment, or
local.settings.json's Values when the variable is unset), writes the run to the ledger in
`AzureWebJobsStorage`, prints progress and where the report is. Exit status 0 when the run
succeeded, 1 when it failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import logging
import sys

from shared.config.local_file import apply_local_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.jobs", description="Run the app's jobs locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one job once, now")
    run.add_argument("name")
    run.add_argument("--connection", help="run against this connection instead of the job's own")
    sub.add_parser("list", help="list the declared jobs")
    args = parser.parse_args(argv)
    apply_local_settings()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    import function_app  # noqa: F401 - declares the jobs, exactly as the Functions host sees them
    from shared.errors import AutomationError
    from shared.jobs import registry

    if args.command == "list":
        for job in registry.all():
            print(
                f"{job.name}\t{job.schedule().expression}\t{','.join(job.connections())}\t{job.description}"
            )
        return 0
    from shared.jobs._engine import Engine

    engine = Engine(progress=lambda line: print(f"  {line}", flush=True))
    try:
        print(f"Running {args.name} ...", flush=True)
        result = engine.run_now(args.name, connection=args.connection)
    except AutomationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Run {result.id}: {result.status.value}", flush=True)
    if result.counts:
        print("  counts: " + ", ".join(f"{k}={v}" for k, v in sorted(result.counts.items())))
    if result.graph.requests:
        print(f"  graph: {result.graph.requests} requests, {result.graph.waited_seconds:.1f} s waited")
    if result.error is not None:
        print(f"  error: {result.error.type}: {result.error.message}", file=sys.stderr)
        if result.error.hint:
            print(f"  hint: {result.error.hint}", file=sys.stderr)
    if result.output:
        store = engine.runs
        print(f"  report: blob {store.store.name(store.container)}/{result.output}")
        print(f"  (GET /api/jobs/{result.name}/runs/{result.id}/output under `make run`)")
    return 0 if result.status.value == "succeeded" else 1


if __name__ == "__main__":
    raise SystemExit(main())
