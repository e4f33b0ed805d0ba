"""`python -m devstack up [--port N] [--state-dir DIR] [--app module:attr] [--scale N [--scale-seed S]]`
(what `make run` calls), and `python -m devstack run [--state-dir DIR] -- CMD ...`: a command with
the app settings of the running stack (`python -m shared.jobs run credential-expiry`, say)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from devstack.stack import StackOptions, run
from devstack.tenant.scale import DEFAULT_SEED


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the stack."""
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the offline tenant, Azurite and the app in the foreground")
    up.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DEVSTACK_PORT", "7071")),
        help="HTTP port of the Functions host (0 picks a free one; env DEVSTACK_PORT; default 7071)",
    )
    up.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("DEVSTACK_STATE_DIR", ".devstack")),
        help="where state.json and the CA go (env DEVSTACK_STATE_DIR; default .devstack)",
    )
    up.add_argument(
        "--app",
        default=os.environ.get("DEVSTACK_APP", "function_app:app"),
        help="the FunctionApp to serve, as module:attribute (env DEVSTACK_APP; default function_app:app)",
    )
    up.add_argument(
        "--scale",
        type=int,
        default=int(os.environ.get("DEVSTACK_SCALE", "0")),
        help="also generate N users, groups and app registrations with credentials (env DEVSTACK_SCALE)",
    )
    up.add_argument(
        "--scale-seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the generated objects: same seed, same objects (default {DEFAULT_SEED})",
    )
    up.add_argument("--log-level", default=os.environ.get("DEVSTACK_LOG_LEVEL", "INFO"))
    run_cmd = commands.add_parser("run", help="run a command with the running stack's app settings")
    run_cmd.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("DEVSTACK_STATE_DIR", ".devstack"))
    )
    run_cmd.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run_with_stack(parser, args.state_dir, args.cmd)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.scale < 0:
        parser.error("--scale must be 0 or more")
    options = StackOptions(
        port=args.port, state_dir=args.state_dir, app=args.app, scale=args.scale, scale_seed=args.scale_seed
    )
    return run(options)


def _run_with_stack(parser: argparse.ArgumentParser, state_dir: Path, cmd: list[str]) -> int:
    """Run `cmd` with the app settings `make run` applied (from state.json); its exit status."""
    command = cmd[1:] if cmd[:1] == ["--"] else cmd
    if not command:
        parser.error("run needs a command after --")
    state_path = state_dir / "state.json"
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"No {state_path}: start the stack first (make run).", file=sys.stderr)
        return 2
    env = {**os.environ, **state.get("appSettings", {})}
    return subprocess.call(command, env=env)  # noqa: S603 - the developer's own command line


if __name__ == "__main__":
    code = main()
    # Everything the stack started is stopped and the state file removed by now. A user function
    # still stuck in a worker thread would make the interpreter wait for it at exit (pool threads
    # are joined), so leave at once, as the real host does with a stuck worker.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
