"""Nothing lost, nothing twice, through a real `devstack up`: a burst with duplicates while Azurite stops.

1,000 Graph notifications (800 distinct, 200 duplicates, shuffled) are posted with 8 senders;
a third of the way in Azurite is frozen (SIGSTOP) for 3 seconds. Every answer is 202 (stored)
or 503 (not stored); the 503s are sent again, as Graph retries. Then every distinct event
has had exactly one handler effect, and none two.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.app.webhooks.support import TENANT
from tests.conftest import tls_session
from tests.e2e.helpers import StackProcess, descendants, start_stack

pytestmark = pytest.mark.e2e

CLIENT_STATE = "burst-" + uuid.uuid4().hex
DISTINCT, DUPLICATES, SENDERS = 800, 200, 8


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StackProcess, Path]]:
    tmp = tmp_path_factory.mktemp("webhooks-burst")
    effects = tmp / "effects.txt"
    env = {
        "WEBHOOKS_HANDLER_MODULES": "tests.app.webhooks.burst_handlers",
        "WEBHOOK_EFFECTS_FILE": str(effects),
        "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:01",
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500",
        "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "20",
    }
    process = start_stack(tmp, env)
    try:
        state = process.state()
        with tls_session(state["caBundle"]) as s:
            s.put(
                f"{state['keyVaultUrl']}/_devstack/secrets/webhook-graph-clientstate",
                json={"value": CLIENT_STATE},
                timeout=10,
            ).raise_for_status()
        yield process, effects
    finally:
        process.terminate()


def _azurite_group(stack: StackProcess) -> int:
    for pid in descendants(stack.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"azurite" in cmdline:
            return os.getpgid(pid)
    raise AssertionError("no Azurite process under the stack")


def _notification(resource_id: str) -> dict[str, Any]:
    return {
        "value": [
            {
                "subscriptionId": "5b3a4a6c-0000-4000-8000-00000000b005",
                "subscriptionExpirationDateTime": "2026-12-20T00:00:00Z",
                "changeType": "updated",
                "resource": f"users/{resource_id}",
                "resourceData": {"@odata.type": "#Microsoft.Graph.User", "id": resource_id},
                "clientState": CLIENT_STATE,
                "tenantId": TENANT,
            }
        ]
    }


@pytest.mark.timeout(900)
def test_burst_with_duplicates_and_a_storage_stop_loses_nothing_and_doubles_nothing(
    stack: tuple[StackProcess, Path],
) -> None:
    """Every 2xx event is processed exactly once, every refused one was a 5xx and came on retry."""
    process, effects = stack
    state = process.state()
    url = f"{state['baseUrl']}/webhooks/graph"
    headers = {"x-functions-key": state["functionKey"], "Content-Type": "application/json"}
    ids = [str(uuid.uuid4()) for _ in range(DISTINCT)]
    deliveries = ids + random.Random(7).choices(ids, k=DUPLICATES)
    random.Random(8).shuffle(deliveries)
    group = _azurite_group(process)
    sent = Counter[str]()
    lock = threading.Lock()
    local = threading.local()

    def post(resource_id: str) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        status = session.post(
            url, data=json.dumps(_notification(resource_id)), headers=headers, timeout=30
        ).status_code
        with lock:
            sent["done"] += 1
        return status

    def freeze() -> None:
        while sent["done"] < len(deliveries) // 3:
            time.sleep(0.01)
        os.killpg(group, signal.SIGSTOP)
        try:
            time.sleep(3)
        finally:
            os.killpg(group, signal.SIGCONT)

    freezer = threading.Thread(target=freeze)
    freezer.start()
    with ThreadPoolExecutor(SENDERS) as pool:
        statuses = list(pool.map(post, deliveries))
    freezer.join()
    assert set(statuses) <= {202, 503}, Counter(statuses)
    refused = [d for d, s in zip(deliveries, statuses, strict=True) if s == 503]
    assert refused, "the storage stop refused nothing: the test did not test the outage"
    # Graph retries what was not acknowledged; so do we, until each is stored.
    for _ in range(20):
        if not refused:
            break
        time.sleep(0.5)
        with ThreadPoolExecutor(SENDERS) as pool:
            again = list(pool.map(post, refused))
        refused = [d for d, s in zip(refused, again, strict=True) if s != 202]
    assert refused == []

    def counts() -> Counter[str]:
        lines = effects.read_text(encoding="utf-8").splitlines() if effects.exists() else []
        return Counter(lines)

    expected = {f"graph {_event_id(i)}" for i in ids}
    deadline = time.monotonic() + 600
    while set(counts()) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # anything processed twice would show by now
    final = counts()
    assert set(final) == expected
    assert [k for k, n in final.items() if n > 1] == []


def _event_id(resource_id: str) -> str:
    from shared.webhooks._graph import event_id

    return event_id(_notification(resource_id)["value"][0])
