"""Runs the certificate-rotation job in a process of its own, for the kill test.

    python -m tests.app.jobs.rotation_runner <storage prefix>

After each finished step it prints `STEP <name>` and waits for a line on stdin before going on,
so the test can ask for tokens between steps and kill the process at the step it chooses. At the
end it prints `DONE <status>`. The settings come from the environment, as the app's do.
"""

from __future__ import annotations

import sys


def main(prefix: str) -> None:
    """Run the job once on the test's storage names, pausing after each step."""
    from shared.jobs._engine import Engine
    from shared.jobs.builtin import certificate_rotation
    from shared.runs import Ledger
    from shared.storage import open_account, use_account

    def pause(step: str, connection: str) -> None:
        print(f"STEP {step}", flush=True)
        sys.stdin.readline()

    certificate_rotation.step_hooks.append(pause)
    store = open_account(prefix=prefix)
    with use_account(store):
        run = Engine(Ledger(store)).run_now(certificate_rotation.NAME)
    print(f"DONE {run.status.value}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
