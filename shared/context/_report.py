"""The whole report: host facts and every connection, each checked in its own thread.

Connections are independent: a slow or broken one gets `status: error` at the deadline while
the others report normally. The worker threads of a timed-out connection are not waited for.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait

from shared import __version__
from shared.context._connection import ConnectionLike, evaluate_connection, iso_utc
from shared.context._rotation import RotationView
from shared.context._words import environment
from shared.identity import Token
from shared.permissions import PermissionRegistry, registry

DEADLINE_S = 25.0
_MAX_WORKERS = 8
_STATUS_RANK = {"ok": 0, "degraded": 1, "error": 2}


class UnknownConnectionError(LookupError):
    """`?connection=NAME` names no configured connection; `names` lists the configured ones."""

    def __init__(self, name: str, names: list[str]) -> None:
        super().__init__(f"No connection named '{name}' is configured.")
        self.name = name
        self.names = names


def host_facts(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Where this instance runs (App Service's standard variables); None outside Azure."""
    env = os.environ if env is None else env
    cloud = env.get("AZURE_CLOUD") or "AzureCloud"
    instance = env.get("WEBSITE_INSTANCE_ID") or None
    return {
        "appName": env.get("WEBSITE_SITE_NAME") or None,
        "region": env.get("REGION_NAME") or None,
        # The full id is 64 hex characters; the portal and logs are searchable by a prefix.
        "instance": instance[:12] if instance else None,
        "pythonVersion": platform.python_version(),
        "appVersion": __version__,
        "cloud": cloud,
        "environment": environment(cloud),
    }


def build_report(
    only: str | None = None,
    *,
    names: Callable[[], list[str]] | None = None,
    connect: Callable[[str], ConnectionLike] | None = None,
    probe: Callable[[ConnectionLike, Token], Mapping[str, object]] | None = None,
    rotation: RotationView | None = None,
    requirements: PermissionRegistry = registry,
    deadline_s: float = DEADLINE_S,
) -> dict[str, object]:
    """The context of every connection (or of `only`); raises UnknownConnectionError for a bad name.

    `names` and `connect` default to shared.identity's, `probe` to the Graph probe and `rotation`
    to the run ledger's view; tests of the report's shape pass their own (a `probe` or
    `rotation` of None skips it then).
    """
    if names is None or connect is None:
        from shared.context._probe import probe_graph
        from shared.identity import connection, connection_names

        names = names or connection_names
        connect = connect or connection
        probe = probe or probe_graph
        rotation = rotation or RotationView()
    configured = names()
    selected = configured
    if only is not None:
        selected = [n for n in configured if n.lower() == only.strip().lower()]
        if not selected:
            raise UnknownConnectionError(only, configured)
    started = time.monotonic()
    entries = _evaluate_all(selected, connect, requirements, probe, rotation, deadline_s)
    statuses = [str(e["status"]) for e in entries.values()]
    return {
        "status": max(statuses, key=_STATUS_RANK.__getitem__, default="ok"),
        "generatedAt": iso_utc(time.time()),
        "host": host_facts(),
        "connections": entries,
        # Code that requires roles of a connection nobody configured: a typo or a missing setting.
        "unconfiguredConnections": sorted(
            requirements.declared_connections() - {n.lower() for n in configured}
        ),
        "elapsedMs": round((time.monotonic() - started) * 1000),
    }


def _evaluate_all(
    selected: list[str],
    connect: Callable[[str], ConnectionLike],
    requirements: PermissionRegistry,
    probe: Callable[[ConnectionLike, Token], Mapping[str, object]] | None,
    rotation: RotationView | None,
    deadline_s: float,
) -> dict[str, dict[str, object]]:
    kinds: dict[str, str] = {}  # filled as connections are built, for entries that time out

    def one(name: str) -> dict[str, object]:
        started = time.monotonic()
        try:
            conn = connect(name)
            kinds[name] = conn.kind.value
        except Exception as exc:  # noqa: BLE001 - a connection that cannot be built is reported
            from shared.context._diagnosis import diagnose_error

            entry: dict[str, object] = {
                "name": name,
                "credential": None,
                "status": "error",
                "diagnosis": diagnose_error(exc),
            }
        else:
            entry = evaluate_connection(
                conn, requirements.for_connection(name), probe, rotation.facts if rotation else None
            )
        entry["elapsedMs"] = round((time.monotonic() - started) * 1000)
        return entry

    if not selected:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(_MAX_WORKERS, len(selected)), thread_name_prefix="context")
    futures: dict[str, Future[dict[str, object]]] = {name: pool.submit(one, name) for name in selected}
    wait(futures.values(), timeout=deadline_s)
    # Do not wait for stragglers: they finish (or time out) on their own and are discarded.
    pool.shutdown(wait=False, cancel_futures=True)
    return {name: _result_or_timeout(name, kinds.get(name), fut, deadline_s) for name, fut in futures.items()}


def _result_or_timeout(
    name: str, kind: str | None, fut: Future[dict[str, object]], deadline_s: float
) -> dict[str, object]:
    if fut.done() and not fut.cancelled():
        return fut.result()
    return {
        "name": name,
        "credential": kind,
        "status": "error",
        "diagnosis": {
            "step": "deadline",
            "status": None,
            "code": "Timeout",
            "outage": True,
            "problem": f"The connection did not answer within {deadline_s:g} s.",
            "fix": "Retry later; if it persists, check that the identity endpoint, Entra and Key Vault "
            "are reachable from the app.",
        },
    }
