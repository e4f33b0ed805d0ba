"""Two local Functions hosts (devstack/host) on one Azurite, both timing one job: one run per slot."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from devstack.azurite import Azurite
from shared.runs import Kind, Ledger, Status
from shared.storage import StorageTarget, open_account

ROOT = Path(__file__).resolve().parents[3]
HOST = (
    "import os, sys, time\n"
    "from pathlib import Path\n"
    "from devstack.host import FunctionsHost, HostKeys\n"
    "host = FunctionsHost.load('tests.app.jobs.host_app:app', root=Path('.'), environ=os.environ,\n"
    "                          keys=HostKeys.generate(), port=0)\n"
    "host.start(); time.sleep(float(sys.argv[1])); host.stop()\n"
)


def test_two_hosts_on_one_storage_account_run_each_slot_once(azurite: Azurite) -> None:
    """Both hosts fire every 5 s; each slot has one run and the other host's firing is a duplicate."""
    name = "two-hosts-" + secrets.token_hex(3)
    env = {**os.environ, "AzureWebJobsStorage": azurite.connection_string, "HOST_TEST_JOB": name}
    hosts = [
        subprocess.Popen(
            [sys.executable, "-c", HOST, "12"],
            cwd=ROOT,
            env={**env, "HOST_TEST_NAME": f"host-{i}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(2)
    ]
    for host in hosts:
        out, _ = host.communicate(timeout=60)
        assert host.returncode == 0, out.decode(errors="replace")[-2000:]
    store = open_account(StorageTarget("AzureWebJobsStorage", connection_string=azurite.connection_string))
    runs = Ledger(store).query(Kind.JOB, name, page_size=100).runs
    by_slot: dict[str, list[Status]] = defaultdict(list)
    for run in runs:
        by_slot[str(run.detail["slot"])].append(run.status)
    assert len(by_slot) >= 2
    for slot, statuses in by_slot.items():
        assert statuses.count(Status.SUCCEEDED) == 1, (slot, statuses)
        assert set(statuses) <= {Status.SUCCEEDED, Status.DUPLICATE}, (slot, statuses)
        assert len(statuses) <= 2, [
            (r.status.value, r.created.isoformat(), r.detail) for r in runs if r.detail["slot"] == slot
        ]
    assert sum(s.count(Status.DUPLICATE) for s in by_slot.values()) >= 2
    store.close()
