"""Start and stop of `devstack up`: SIGTERM leaves nothing behind; a bad app never half-starts."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import SAMPLE_ENV, alive, descendants, listening_ports, port_open, start_stack

pytestmark = pytest.mark.e2e


def test_sigterm_stops_every_process_and_port(tmp_path: Path) -> None:
    """After SIGTERM: exit 0, state.json removed, no port the stack listened on is open, no child left."""
    stack = start_stack(tmp_path, SAMPLE_ENV)
    pids = {stack.process.pid} | descendants(stack.process.pid)
    assert len(pids) > 1, "Azurite should run as a child process"
    ports = listening_ports(pids)
    assert len(ports) >= 4  # the host and Azurite's three services, at least
    assert stack.terminate() == 0
    assert not stack.state_path.exists()
    time.sleep(0.2)
    assert [p for p in ports if port_open(p)] == []
    assert [p for p in pids if alive(p)] == []


def test_sigkill_takes_azurite_with_it(tmp_path: Path) -> None:
    """After SIGKILL of `devstack up`, every process it started is gone and its ports close within seconds."""
    stack = start_stack(tmp_path, SAMPLE_ENV)
    children = descendants(stack.process.pid)
    assert children, "Azurite should run as a child process"
    ports = listening_ports(children)
    assert len(ports) >= 3  # Azurite's three services
    stack.process.send_signal(signal.SIGKILL)
    assert stack.terminate(timeout=10) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ([p for p in children if alive(p)] or any(map(port_open, ports))):
        time.sleep(0.1)
    assert [p for p in children if alive(p)] == []
    assert [p for p in ports if port_open(p)] == []


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("tests.e2e.broken_app:app", "broken on purpose"),
        ("tests.e2e.unsupported_app:app", "is not supported by the local host"),
    ],
)
def test_bad_app_fails_at_start(tmp_path: Path, app: str, message: str) -> None:
    """An import error or an unsupported binding exits 1 with the cause, leaving no process or state."""
    stack = start_stack(tmp_path, {**SAMPLE_ENV, "DEVSTACK_APP": app}, wait=False)
    try:
        status = stack.process.wait(90)
    finally:
        pids_left = descendants(stack.process.pid)
        stack.terminate()
    assert status == 1
    assert message in stack.log_text()
    assert not stack.state_path.exists()
    assert pids_left == set()
