"""Queue triggers and queue output bindings against Azure Storage (Azurite locally).

As the Storage Queues extension does: messages are base64 on the wire (host.json
`extensions.queues.messageEncoding`, default base64), polling backs off from 100 ms to
`maxPollingInterval` while the queue is empty, a failed message becomes visible again after
`visibilityTimeout`, and after `maxDequeueCount` attempts it moves to `<queue>-poison`.
"""

from __future__ import annotations

import base64
import binascii
import collections.abc
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient
from azure.storage.queue import QueueMessage as StorageMessage

from devstack.host.errors import HostStartupError
from devstack.host.indexing import QUEUE_OUTPUT, IndexedFunction
from devstack.host.invocation import Invoker, Result
from devstack.host.settings import HostConfig, resolve_expression, storage_connection_string

logger = logging.getLogger(__name__)

MIN_POLLING_INTERVAL = timedelta(milliseconds=100)


def encode_body(body: str | bytes, encoding: str) -> str:
    """The text stored in the queue for a message body."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    return raw.decode("utf-8")


def decode_body(content: str, encoding: str) -> bytes:
    """The message body a function sees for the text stored in the queue; ValueError if not decodable."""
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error as exc:
            raise ValueError("message is not valid base64") from exc
    return content.encode("utf-8")


def to_function_message(message: StorageMessage, body: bytes) -> QueueMessage:
    """The `func.QueueMessage` a queue-triggered function receives."""
    return QueueMessage(  # type: ignore[no-untyped-call]
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        expiration_time=message.expires_on,
        insertion_time=message.inserted_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


def output_bodies(value: Any) -> list[str | bytes]:
    """Messages an output binding value stands for: str, bytes, QueueMessage or a list of them."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        return [value]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, collections.abc.Iterable):
        return [b for item in value for b in output_bodies(item)]
    raise TypeError(f"a queue output binding got {type(value).__name__}; expected str, bytes or QueueMessage")


class QueueClients:
    """Queue clients by (connection string, queue), each queue created once when first used."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], QueueClient] = {}
        self._lock = threading.Lock()

    def get(self, connection_string: str, queue: str) -> QueueClient:
        """A client for `queue`, creating the queue if it does not exist yet."""
        with self._lock:
            client = self._clients.get((connection_string, queue))
            if client is None:
                client = QueueClient.from_connection_string(connection_string, queue)
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                self._clients[(connection_string, queue)] = client
            return client

    def close(self) -> None:
        """Close every client."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


class QueueOutputs:
    """Sends the values of a run's queue output bindings."""

    def __init__(self, clients: QueueClients, environ: Mapping[str, str], config: HostConfig) -> None:
        self._clients = clients
        self._environ = environ
        self._encoding = config.message_encoding

    def check(self, function: IndexedFunction) -> None:
        """Fail at start when an output's queue name or connection cannot be resolved."""
        for binding in function.outputs:
            if binding.type == QUEUE_OUTPUT:
                resolve_expression(str(binding.settings.get("queueName") or ""), self._environ)
                storage_connection_string(binding.settings.get("connection"), self._environ)

    def __call__(self, function: IndexedFunction, result: Result) -> None:
        """Send each queue output's messages (base64 unless host.json says none)."""
        for binding in function.outputs:
            if binding.type != QUEUE_OUTPUT:
                continue
            bodies = output_bodies(result.output(binding.name))
            if not bodies:
                continue
            queue = resolve_expression(str(binding.settings["queueName"]), self._environ)
            connection = storage_connection_string(binding.settings.get("connection"), self._environ)
            client = self._clients.get(connection, queue)
            for body in bodies:
                client.send_message(encode_body(body, self._encoding))


class QueueListener:
    """Polls one queue and runs its function for each message."""

    def __init__(
        self,
        function: IndexedFunction,
        environ: Mapping[str, str],
        config: HostConfig,
        invoker: Invoker,
        clients: QueueClients,
        send_outputs: QueueOutputs,
    ) -> None:
        settings = function.trigger.settings
        self.function = function
        self.queue = resolve_expression(str(settings.get("queueName") or ""), environ)
        if not self.queue:
            raise HostStartupError(f"function '{function.name}': the queue trigger has no queue name")
        self._connection = storage_connection_string(settings.get("connection"), environ)
        self._config = config
        self._invoker = invoker
        self._clients = clients
        self._send_outputs = send_outputs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"queue-{function.name}", daemon=True)
        self._pool = ThreadPoolExecutor(config.batch_size, thread_name_prefix=f"queue-{function.name}")
        try:
            # Azurite starts empty: the trigger queue is created so a developer can send to it.
            self._client = clients.get(self._connection, self.queue)
        except (AzureError, ValueError) as exc:
            raise HostStartupError(
                f"function '{function.name}': queue '{self.queue}' unreachable: {exc}"
            ) from exc

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling and wait for running messages to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        # A stuck message must not hang the stop: its lease expires and the message comes
        # back on the next start, as after a host crash in Azure.
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _poison(self, message: StorageMessage) -> None:
        poison = self._clients.get(self._connection, f"{self.queue}-poison")
        # The poison copy keeps the stored text unchanged, as the extension does.
        poison.send_message(message.content)
        self._client.delete_message(message)
        logger.warning(
            "Message %s on queue '%s' moved to '%s-poison' after %s dequeues",
            message.id,
            self.queue,
            self.queue,
            message.dequeue_count,
        )

    def process(self, message: StorageMessage) -> None:
        """Run the function for one message; delete it, retry it later or poison it."""
        max_count = self._config.max_dequeue_count
        if (message.dequeue_count or 0) > max_count:
            self._poison(message)
            return
        try:
            body = decode_body(message.content, self._config.message_encoding)
        except ValueError:
            # It can never succeed: the host would fail every dequeue, so poison it now.
            logger.warning("Message %s on queue '%s' is not base64", message.id, self.queue)
            self._poison(message)
            return
        try:
            result = self._invoker.invoke(
                self.function,
                to_function_message(message, body),
                reason=f"New queue message detected on '{self.queue}'.",
            )
            self._send_outputs(self.function, result)
        except Exception:  # noqa: BLE001 - user code may raise anything; the invoker logged it
            if (message.dequeue_count or 0) >= max_count:
                self._poison(message)
            else:
                self._client.update_message(
                    message,
                    pop_receipt=message.pop_receipt,
                    visibility_timeout=int(self._config.visibility_timeout.total_seconds()),
                )
            return
        self._client.delete_message(message)

    def _loop(self) -> None:
        interval = MIN_POLLING_INTERVAL
        # The message stays invisible to other pollers while the function may still run.
        lease = int(self._config.function_timeout.total_seconds()) + 30
        while not self._stop.is_set():
            try:
                messages = list(
                    self._client.receive_messages(
                        messages_per_page=self._config.batch_size,
                        max_messages=self._config.batch_size,
                        visibility_timeout=lease,
                    )
                )
            except AzureError as exc:
                logger.warning("Polling queue '%s' failed: %s", self.queue, type(exc).__name__)
                messages = []
            if messages:
                interval = MIN_POLLING_INTERVAL
                futures = [self._pool.submit(self._safe_process, m) for m in messages]
                deadline_s = self._config.function_timeout.total_seconds()
                _, stuck = concurrent.futures.wait(futures, timeout=deadline_s)
                if stuck:
                    logger.error(
                        "%d message(s) of queue '%s' ran past functionTimeout; their lease will expire",
                        len(stuck),
                        self.queue,
                    )
                continue
            self._stop.wait(interval.total_seconds())
            interval = min(interval * 2, max(self._config.max_polling_interval, MIN_POLLING_INTERVAL))

    def _safe_process(self, message: StorageMessage) -> None:
        try:
            self.process(message)
        except AzureError as exc:
            # Azurite went away or the pop receipt expired: the message comes back on its own.
            logger.warning("Queue '%s': message %s unsettled: %s", self.queue, message.id, type(exc).__name__)
