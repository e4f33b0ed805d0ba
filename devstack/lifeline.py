"""`python -m devstack.lifeline COMMAND...`: run COMMAND until our stdin closes, then stop it.

A parent that starts us with a pipe on stdin and keeps the write end takes COMMAND with it when
it dies in any way, SIGKILL included: the kernel closes the pipe and we read EOF. This needs no
signal delivery to the parent and nothing done between fork and exec in a process that may have
threads (why not `prctl(PR_SET_PDEATHSIG)` in `preexec_fn` of a threaded `devstack up`). We are
single-threaded, so on Linux COMMAND also gets PR_SET_PDEATHSIG(SIGTERM) against our own death.
SIGTERM stops COMMAND gracefully too, and our exit status is COMMAND's.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
from types import FrameType

GRACE_SECONDS = 5.0
POLL_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """preexec_fn: SIGTERM when `parent` dies (Linux); already orphaned means stop at once."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def stop(child: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> int:
    """SIGTERM, then SIGKILL after `grace` seconds; the child's exit status."""
    if child.poll() is None:
        child.terminate()
        try:
            return child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait(grace)


def main(argv: list[str]) -> int:
    """Run argv until stdin reaches EOF or we get SIGTERM/SIGINT, then stop it."""
    if not argv:
        print("usage: python -m devstack.lifeline COMMAND [ARG...]", file=sys.stderr)
        return 2
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    me = os.getpid()
    child = subprocess.Popen(  # noqa: S603 - the caller's command line, no shell
        argv,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: _die_with(me),  # safe: this process has no threads
    )
    watched = sys.stdin.fileno()
    while not stopping and child.poll() is None:
        readable, _, _ = select.select([watched], [], [], POLL_SECONDS)
        if readable and not os.read(watched, 4096):
            break  # EOF: the parent is gone (or closed the pipe to stop us)
    return stop(child)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
