"""Start `python -m devstack up` as a user would, and look at what it left behind through /proc."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0

# Short queue timings so a poison message takes seconds, set the way Azure overrides host.json.
SAMPLE_ENV = {
    "DEVSTACK_APP": "tests.e2e.sample_app:app",
    "TICK_SCHEDULE": "*/1 * * * * *",
    "WORK_QUEUE": "work-items",
    "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "2",
    "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:00",
    "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "4096",
    "DEVSTACK_MASTER_KEY": "test-master-key",
}


@dataclass
class StackProcess:
    """A running `devstack up` subprocess and where its state and log are."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    log_path: Path
    log: IO[bytes]

    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.json"

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_path.read_text(encoding="utf-8")))

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a service manager would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.log.close()


def start_stack(tmp: Path, env: dict[str, str], *, wait: bool = True) -> StackProcess:
    """Start the stack on a free port with its own state dir; wait for state.json unless told not to."""
    state_dir = tmp / "state"
    log_path = tmp / "devstack.log"
    log = log_path.open("wb")
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    # The developer's own keys or app choice must not leak into the test's stack.
    for name in ("DEVSTACK_FUNCTION_KEY", "DEVSTACK_PORT", "DEVSTACK_STATE_DIR"):
        full_env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "up", "--port", "0", "--state-dir", str(state_dir)],
        cwd=ROOT,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stack = StackProcess(process, state_dir, log_path, log)
    if wait:
        deadline = time.monotonic() + START_TIMEOUT
        while not stack.state_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                stack.terminate()
                raise AssertionError(f"devstack up did not start:\n{stack.log_text()[-4000:]}")
            time.sleep(0.1)
    return stack


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (psutil is not a dependency)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name in parentheses, which may contain spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listening_ports(pids: set[int]) -> set[int]:
    """TCP ports on which any of `pids` has a listening socket (/proc/net/tcp state 0A)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
