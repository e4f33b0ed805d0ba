"""`devstack up`: the offline tenant, Azurite and the local Functions host, as one foreground stack.

Start order: tenant, Azurite, settings (local.settings.json, then the emulators' settings),
host. `.devstack/state.json` is written once everything answers and removed on exit; Ctrl-C or
SIGTERM stops everything this process started.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import urllib.request
from collections.abc import Callable, MutableMapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from devstack.azurite import Azurite, AzuriteError
from devstack.host import (
    FunctionsHost,
    HostKeys,
    HostStartupError,
    apply_local_settings,
    read_local_settings,
)
from devstack.offline_tenant import OfflineTenant
from devstack.tenant.scale import DEFAULT_SEED

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
STATE_FILE = "state.json"
DEV_STORAGE = "usedevelopmentstorage=true"
STORAGE_SETTING = "AzureWebJobsStorage"


@dataclass(frozen=True)
class StackOptions:
    """What `devstack up` was asked for."""

    port: int = 7071
    state_dir: Path = Path(".devstack")
    app: str = "function_app:app"
    root: Path = ROOT
    scale: int = 0  # generated users, groups and apps on top of the seed (devstack.tenant.scale)
    scale_seed: int = DEFAULT_SEED


def point_storage_at_azurite(environ: MutableMapping[str, str], connection_string: str) -> list[str]:
    """Replace UseDevelopmentStorage=true (which assumes Azurite's fixed ports) with the real endpoints."""
    changed = [k for k, v in environ.items() if v.strip().lower().rstrip(";") == DEV_STORAGE]
    if not environ.get(STORAGE_SETTING):
        changed.append(STORAGE_SETTING)
    for name in changed:
        environ[name] = connection_string
    return changed


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state file atomically, readable by the owner only (it holds the function key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2)
        handle.write("\n")
    os.replace(partial, path)


def _answers(url: str, master_key: str) -> bool:
    request = urllib.request.Request(url, headers={"x-functions-key": master_key})  # noqa: S310 - loopback http
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return bool(response.status == 200)


class _Stop:
    """Set by SIGINT/SIGTERM; the main thread waits on it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        # No logging here: a handler that logs can deadlock on the logging lock it interrupted.
        self.signal_name = signal.Signals(signum).name
        self.event.set()


def run(options: StackOptions, *, on_ready: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Run the stack in the foreground until a signal; the exit status (0, or 1 when it cannot start)."""
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    state_path = options.state_dir / STATE_FILE
    if str(options.root) not in sys.path:
        sys.path.insert(0, str(options.root))
    try:
        with ExitStack() as cleanup:
            keys = HostKeys.generate()
            tenant = OfflineTenant.start(
                options.state_dir, scale=options.scale, scale_seed=options.scale_seed
            )
            cleanup.callback(tenant.stop)
            azurite = Azurite.start(options.root, options.state_dir / "azurite")
            cleanup.callback(azurite.stop)

            local = read_local_settings(options.root)
            apply_local_settings(local, os.environ)
            pointed = point_storage_at_azurite(os.environ, azurite.connection_string)
            # The emulators' endpoints win over local settings: the app must talk to the offline tenant.
            os.environ.update(tenant.app_settings())
            # What the app runs with, for `python -m devstack run -- CMD` (a job, the bootstrap).
            applied = {
                n: os.environ[n] for n in (*local, *pointed, *tenant.app_settings()) if n in os.environ
            }

            host = FunctionsHost.load(
                options.app, root=options.root, environ=os.environ, keys=keys, port=options.port
            )
            cleanup.callback(host.stop)
            host.start()
            if not _answers(f"http://127.0.0.1:{host.port}/admin/host/status", keys.master_key):
                raise HostStartupError("the host does not answer its status request")

            state = {
                "baseUrl": host.base_url,
                "functionKey": keys.function_key,
                **tenant.state(),
                "storageConnectionString": azurite.connection_string,
                "appSettings": applied,
            }
            cleanup.callback(state_path.unlink, missing_ok=True)
            write_state(state_path, state)
            _banner(host, state_path, keys.function_key)
            if on_ready is not None:
                on_ready(state)
            stop.event.wait()
            logger.info("%s received: stopping", stop.signal_name)
        logger.info("Stopped")
        return 0
    except (HostStartupError, AzuriteError) as exc:
        logger.error(
            "devstack up failed: %s", exc
        )  # the cause is the message; tracebacks were logged where they arose
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _banner(host: FunctionsHost, state_path: Path, function_key: str) -> None:
    lines = ["", "Functions:"]
    rows = host.describe()
    for row in rows:
        if row["trigger"] == "httpTrigger":
            lines.append(f"  {row['name']}: {host.base_url}/{row['route']}")
        else:
            lines.append(f"  {row['name']}: {row['trigger']}")
    if any(r["trigger"] == "httpTrigger" and r["route"] == "status" for r in rows):
        # The one URL a newcomer opens: the local key is a throwaway of this state dir.
        lines += ["", f"Status page: {host.base_url}/status?code={function_key}"]
    lines += ["", f"Keys and endpoints: {state_path}", "Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)  # the developer's terminal is the audience
