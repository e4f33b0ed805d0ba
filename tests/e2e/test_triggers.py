"""Timer and queue triggers through `devstack up`, against the real Azurite."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from tests.e2e.helpers import StackProcess

pytestmark = pytest.mark.e2e


def _eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def _events(stack: StackProcess, kind: str) -> list[dict[str, Any]]:
    response = requests.get(f"{stack.state()['baseUrl']}/events/{kind}", timeout=10)
    response.raise_for_status()
    return list(response.json())


def _queue(stack: StackProcess, name: str) -> QueueClient:
    return QueueClient.from_connection_string(stack.state()["storageConnectionString"], name)


def _drain(client: QueueClient) -> list[str]:
    """Bodies currently in a queue (base64-decoded), removing them."""
    bodies: list[str] = []
    try:
        messages = list(client.receive_messages(max_messages=32))
    except ResourceNotFoundError:
        # The host creates the poison queue only when it first poisons a message.
        return bodies
    for message in messages:
        bodies.append(base64.b64decode(message.content).decode("utf-8"))
        client.delete_message(message)
    return bodies


def _collect(client: QueueClient, wanted: str) -> Callable[[], bool]:
    """A check that drains the queue until `wanted` has been seen."""
    bodies: list[str] = []

    def check() -> bool:
        bodies.extend(_drain(client))
        return wanted in bodies

    return check


def test_timer_fires_on_a_schedule_from_a_setting(sample_stack: StackProcess) -> None:
    """`%TICK_SCHEDULE%` (every second) resolves from settings; runs of one timer never overlap."""
    ticks = _eventually(lambda: (e := _events(sample_stack, "ticks")) and len(e) >= 3 and e)
    assert not any(t["overlapped"] for t in ticks)


def test_queue_output_and_trigger_round_trip(sample_stack: StackProcess) -> None:
    """An HTTP function's queue output reaches the queue trigger, whose own output lands base64-encoded."""
    response = requests.post(
        f"{sample_stack.state()['baseUrl']}/enqueue",
        headers={"x-functions-key": sample_stack.state()["functionKey"]},
        data=b"hello",
        timeout=10,
    )
    assert response.status_code == 202
    seen = _eventually(lambda: [m for m in _events(sample_stack, "messages") if m["body"] == "hello"])
    assert seen[0]["dequeueCount"] == 1
    assert seen[0]["id"]
    with _queue(sample_stack, "work-done") as done:
        _eventually(_collect(done, "done:hello"))


def test_message_sent_by_a_client_is_decoded(sample_stack: StackProcess) -> None:
    """A base64 message put by another client reaches the function decoded."""
    with _queue(sample_stack, "work-items") as queue:
        queue.send_message(base64.b64encode(b"from-client").decode("ascii"))
    _eventually(lambda: [m for m in _events(sample_stack, "messages") if m["body"] == "from-client"])


def test_failing_message_ends_in_poison_queue(sample_stack: StackProcess) -> None:
    """A message that always fails is tried maxDequeueCount (2) times, then moved to `<queue>-poison`."""
    with _queue(sample_stack, "work-items") as queue:
        queue.send_message(base64.b64encode(b"fail").decode("ascii"))
    with _queue(sample_stack, "work-items-poison") as poison:
        _eventually(_collect(poison, "fail"))
    attempts = [m["dequeueCount"] for m in _events(sample_stack, "messages") if m["body"] == "fail"]
    assert attempts == [1, 2]
