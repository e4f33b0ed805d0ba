"""Helpers for job tests: trivial jobs, and a queue pump that delivers like the Functions host."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from shared.jobs import Job, JobContext, registry
from shared.jobs._engine import RUNS_QUEUE, UNITS_QUEUE, Engine
from shared.storage import Account


class Recycled(BaseException):
    """Raised inside a job to stand for the instance dying mid-run (nothing after it runs)."""


@contextlib.contextmanager
def declared(
    name: str, function: Callable[[JobContext], Any], *, schedule: str = "0 0 * * * *", **options: Any
) -> Iterator[Job]:
    """Register a job for the test and forget it afterwards."""
    options.setdefault("timeout", timedelta(minutes=5))
    job = registry.add(Job(name=name, function=function, schedule_default=schedule, **options))
    try:
        yield job
    finally:
        registry.remove(name)


@dataclass
class Pump:
    """Delivers messages from the test's queues to the engine as the host would.

    A message whose handler raises becomes visible again; after `max_dequeue_count`
    deliveries it moves to `<queue>-poison` (and the poison handler runs, as a trigger would).
    """

    store: Account
    engine: Engine
    max_dequeue_count: int = 5
    poisoned: list[str] = field(default_factory=list)

    def _client(self, queue: str) -> QueueClient:
        return QueueClient.from_connection_string(
            str(self.store.target.connection_string), self.store.name(queue)
        )

    def once(self) -> int:
        """Deliver every visible message once; how many were delivered."""
        delivered = 0
        for queue in (RUNS_QUEUE, UNITS_QUEUE):
            client = self._client(queue)
            try:
                messages = list(client.receive_messages(max_messages=32, visibility_timeout=60))
            except ResourceNotFoundError:
                continue
            for message in messages:
                delivered += 1
                body = base64.b64decode(message.content)
                try:
                    if queue == RUNS_QUEUE:
                        self.engine.on_run_message(body)
                    else:
                        self.engine.on_unit_message(body, message.dequeue_count or 1)
                except Exception:
                    if (message.dequeue_count or 1) >= self.max_dequeue_count:
                        self.poisoned.append(body.decode())
                        client.delete_message(message)
                        if queue == UNITS_QUEUE:
                            self.engine.on_unit_poison(body)
                    else:
                        client.update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=0)
                    continue
                client.delete_message(message)
        return delivered

    def drain(self, rounds: int = 20) -> None:
        """Deliver until the queues are empty (at most `rounds` passes)."""
        for _ in range(rounds):
            if not self.once():
                return


def take_messages(store: Account, queue: str) -> list[dict[str, Any]]:
    """Every visible message of `queue`, decoded and removed (what a trigger would be handed)."""
    import json

    client = QueueClient.from_connection_string(str(store.target.connection_string), store.name(queue))
    try:
        received = list(client.receive_messages(max_messages=32, visibility_timeout=60))
    except ResourceNotFoundError:
        return []
    for message in received:
        client.delete_message(message)
    return [json.loads(base64.b64decode(m.content)) for m in received]
