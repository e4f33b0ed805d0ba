"""Azurite (the npm package in node_modules) on loopback, on free ports, in memory.

Started in its own process group so Ctrl-C in the terminal reaches only `devstack up`, which
then stops Azurite with everything it started. Azurite runs under `devstack/lifeline.py`, which
holds a pipe from us: if `devstack up` dies without cleaning up (SIGKILL, a crash), the pipe
closes and the lifeline stops Azurite, so no orphan keeps its ports.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

# Azurite's well-known development account: public, documented, the same on every machine.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SERVICES = ("blob", "queue", "table")
LIFELINE = Path(__file__).with_name("lifeline.py")
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)")


class AzuriteError(Exception):
    """Azurite is missing or did not start; the message says what to do."""


class Azurite:
    """A running Azurite process and its ports."""

    def __init__(
        self, process: subprocess.Popen[str], ports: dict[str, int], reader: threading.Thread
    ) -> None:
        self.process = process
        self.ports = ports
        self._reader = reader

    @property
    def connection_string(self) -> str:
        """A connection string with explicit endpoints (UseDevelopmentStorage=true assumes fixed ports)."""
        endpoints = ";".join(
            f"{service.capitalize()}Endpoint=http://127.0.0.1:{self.ports[service]}/{ACCOUNT}"
            for service in SERVICES
        )
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};{endpoints};"

    @classmethod
    def start(cls, root: Path, workdir: Path, timeout: float = 30.0) -> Azurite:
        """Start Azurite and wait until its three services listen."""
        executable = root / "node_modules" / ".bin" / "azurite"
        if not executable.exists():
            raise AzuriteError(f"{executable} is missing: run `make install` (npm ci) first")
        # In-memory Azurite refuses --location; its working directory keeps any stray file in the state dir.
        workdir.mkdir(parents=True, exist_ok=True)
        command = [str(executable), "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck"]
        for service in SERVICES:
            # Port 0: the OS picks a free port and Azurite prints it, so two stacks never collide.
            command += [f"--{service}Host", "127.0.0.1", f"--{service}Port", "0"]
        # Run as a script (stdlib only), not `-m`: the working directory is not the repository.
        process = subprocess.Popen(  # noqa: S603 - a fixed command line, no shell
            [sys.executable, str(LIFELINE), *command],
            cwd=workdir,
            # Never written: its only job is to close (EOF for the lifeline) when we die.
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        ports: dict[str, int] = {}
        tail: collections.deque[str] = collections.deque(maxlen=5)
        ready = threading.Event()
        assert process.stdout is not None
        reader = threading.Thread(
            target=cls._read_output,
            args=(process.stdout, ports, ready, tail),
            name="azurite-log",
            daemon=True,
        )
        reader.start()
        azurite = cls(process, ports, reader)
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if process.poll() is not None or time.monotonic() > deadline:
                azurite.stop()
                said = " | ".join(tail) or "nothing"
                raise AzuriteError(f"Azurite did not start (exit code {process.returncode}); it said: {said}")
        logger.info("Azurite listening (blob %(blob)s, queue %(queue)s, table %(table)s)", ports)
        return azurite

    @staticmethod
    def _read_output(
        stream: IO[str], ports: dict[str, int], ready: threading.Event, tail: collections.deque[str]
    ) -> None:
        # Draining the pipe also keeps Azurite from blocking on a full buffer.
        for line in stream:
            tail.append(line.strip())
            match = _LISTENING.search(line)
            if match:
                ports[match.group(1).lower()] = int(match.group(2))
                if len(ports) == len(SERVICES):
                    ready.set()
            logger.debug("azurite: %s", line.rstrip())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Azurite's whole process group; idempotent."""
        if self.process.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout)
                    break
                except subprocess.TimeoutExpired:
                    logger.warning("Azurite ignored %s", sig.name)
        else:
            # The leader exited; anything left in its group goes too.
            # (Linux keeps a group's id from being reused while any member lives.)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)  # after SIGKILL of the group: only a stuck kernel is slower
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
