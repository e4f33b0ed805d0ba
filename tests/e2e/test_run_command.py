"""`python -m devstack run -- CMD`: a command-line tool gets the app settings of the running stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.helpers import ROOT, StackProcess


def _run(stack: StackProcess, *cmd: str, state_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "devstack",
            "run",
            "--state-dir",
            str(state_dir or stack.state_dir),
            "--",
            *cmd,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_a_job_runs_once_against_the_running_stack(sample_stack: StackProcess) -> None:
    """`shared.jobs run credential-expiry` under `devstack run` reaches the emulators and the ledger."""
    state = sample_stack.state()
    shown = _run(sample_stack, sys.executable, "-c", "import os; print(os.environ['GRAPH_URL'])")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == state["graphUrl"]
    done = _run(sample_stack, sys.executable, "-m", "shared.jobs", "run", "credential-expiry")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout
    assert state["functionKey"] not in done.stdout + done.stderr


def test_without_a_running_stack_it_says_to_start_one(sample_stack: StackProcess, tmp_path: Path) -> None:
    """No state.json: exit status 2 and a sentence saying to run `make run` first."""
    missing = _run(sample_stack, "true", state_dir=tmp_path)
    assert missing.returncode == 2
    assert "start the stack first (make run)" in missing.stderr
