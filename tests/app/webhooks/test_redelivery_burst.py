"""Nothing lost, nothing twice, through Graph's own redelivery: the Graph emulator notifies our
receiver (a real socket) of a burst of changes while Azurite is frozen for 3 seconds; the receiver
answers 503 or too late, Graph redelivers with backoff (and sends duplicates on its own), and in the
end every change has been handled exactly once.

A frozen Azurite may still store a message whose answer was a 503 or came after Graph gave up (the
request reached it before the freeze): that is the at-least-once case the processor's dedupe is for.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from typing import Any

from devstack.azurite import Azurite
from devstack.offline_tenant import OfflineTenant
from shared.runs import Kind, Status, ledger
from shared.webhooks import WebhookEvent, on_graph
from shared.webhooks._subscriptions import sync_subscriptions
from tests.app.webhooks.support import graph_control, run_queue, wait_delivered

CHANGES = 90
FREEZE_S = 3.0


def test_burst_through_graph_redelivery_is_handled_exactly_once(
    devstack: OfflineTenant, azurite: Azurite, subscribed: Any
) -> None:
    """Every change Graph notified is handled once, none twice, though some batches were refused
    (503 or timeout), redelivered, and duplicated."""
    assert sync_subscriptions()["created"] == 1
    handled: list[WebhookEvent] = []
    on_graph("users/*")(handled.append)
    graph_control(
        devstack,
        "PUT",
        "notifications",
        {"batchWindowMs": 50, "timeoutS": 3.0, "retryBaseS": 0.5, "retryMaxS": 2.0, "duplicates": 3},
    )
    users = devstack.tenant.users
    started = threading.Event()

    def freeze() -> None:
        started.wait(30)
        os.killpg(azurite.process.pid, signal.SIGSTOP)
        try:
            time.sleep(FREEZE_S)
        finally:
            os.killpg(azurite.process.pid, signal.SIGCONT)

    freezer = threading.Thread(target=freeze)
    freezer.start()
    try:
        for n in range(CHANGES):
            if n == CHANGES // 3:
                started.set()
            user = users[n % len(users)].object_id
            graph_control(devstack, "POST", "changes", {"resource": "users", "id": user})
            time.sleep(0.01)
    finally:
        started.set()
        freezer.join()
    deliveries = wait_delivered(devstack, timeout_s=45)
    refused = [d for d in deliveries if not d.get("delivered")]
    assert refused, "nothing was refused: the test did not test redelivery"
    assert {d["status"] for d in refused} <= {503, None}  # a 503 from us, or no answer within 3 s
    assert not [d for d in deliveries if d.get("dropped")]
    assert any(d["duplicate"] for d in deliveries)
    batches = {d["batchId"]: d["items"] for d in deliveries if "items" in d}
    assert sum(batches.values()) == CHANGES
    assert all(any(d["delivered"] for d in deliveries if d["batchId"] == b) for b in batches)
    for _ in range(10):  # the processor, until the queue is empty (a run may meet a thawing Azurite)
        if run_queue(subscribed) == {"ok": 0, "failed": 0, "poisoned": 0}:
            break
    counts = Counter(e.id for e in handled)
    assert len(counts) == CHANGES
    assert [i for i, n in counts.items() if n > 1] == []
    assert ledger().query(Kind.WEBHOOK, "graph", status=Status.DUPLICATE, page_size=1).runs
