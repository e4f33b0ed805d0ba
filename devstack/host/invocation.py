"""Call a user function as the Python worker does: bindings in, `Out` values and the return value out.

Sync functions run on the calling thread (an HTTP request thread, a timer or queue thread); async
functions run on one event loop thread shared by the app, like the worker's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions import _abc as functions_abc

from devstack.host.indexing import CONTEXT_PARAMETER, RETURN, IndexedFunction

logger = logging.getLogger(__name__)


class Out(func.Out[Any]):
    """An output binding parameter: the function sets it, the host reads it afterwards."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        """Set the value the binding will send."""
        self._value = val

    def get(self) -> Any:
        """The value set, or None."""
        return self._value


# W3C Trace Context, version 00: https://www.w3.org/TR/trace-context/#traceparent-header
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")


def invocation_traceparent(caller: str | None = None) -> str:
    """The traceparent the host sends with an invocation: its own span's.

    Like the host's invocation activity: a child of the caller's `traceparent` (an HTTP request's
    header; same trace id and flags, a new span id) when valid, else a new trace (flags 00: the
    classic host's, which records traces without setting the sampled flag).
    """
    span = secrets.token_hex(8)
    if caller and _TRACEPARENT.fullmatch(caller.strip().lower()):
        _, trace_id, _, flags = caller.strip().lower().split("-")
        return f"00-{trace_id}-{span}-{flags}"
    return f"00-{secrets.token_hex(16)}-{span}-00"


def invocation_trace(caller: str | None, caller_state: str | None) -> tuple[str, str]:
    """An HTTP invocation's (traceparent, tracestate): the caller's tracestate goes on only with
    a valid traceparent (https://www.w3.org/TR/trace-context/#tracestate-header)."""
    valid = bool(caller and _TRACEPARENT.fullmatch(caller.strip().lower()))
    return invocation_traceparent(caller), (caller_state or "") if valid else ""


class _TraceContext(functions_abc.TraceContext):
    """The invocation's trace context, one per invocation (the worker's shape and names)."""

    def __init__(self, parent: str, state: str) -> None:
        self._parent = parent
        self._state = state

    @property
    def trace_state(self) -> str:
        return self._state

    # The worker's older names, used by Microsoft's samples.
    @property
    def Traceparent(self) -> str:
        return self._parent

    @property
    def Tracestate(self) -> str:
        return self._state

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(functions_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """The `context` parameter a function may declare."""

    _local = threading.local()

    def __init__(
        self,
        invocation_id: str,
        function_name: str,
        function_directory: str,
        trace_parent: str = "",
        trace_state: str = "",
    ) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = _TraceContext(trace_parent, trace_state)

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> functions_abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> functions_abc.RetryContext:
        return _RetryContext()


@dataclass(frozen=True)
class Result:
    """What a run produced: the return value and each output binding's value by name."""

    return_value: Any
    outputs: dict[str, Any]

    def output(self, name: str) -> Any:
        """The value of output binding `name` (`$return` is the return value)."""
        return self.return_value if name == RETURN else self.outputs.get(name)


class FunctionTimeoutError(Exception):
    """An invocation ran past host.json's functionTimeout (the host's own wording)."""


class Invoker:
    """Runs functions with their bindings and logs each run the way the Functions host does."""

    def __init__(self, function_directory: Path, function_timeout_s: float | None = None) -> None:
        self._directory = str(function_directory)
        # host.json functionTimeout: an async function that never returns must not hold its
        # request or queue thread forever (the real host abandons it and fails the invocation).
        self._timeout_s = function_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="functions-event-loop", daemon=True)
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    def invoke(
        self,
        function: IndexedFunction,
        trigger_value: Any,
        reason: str,
        *,
        trace_parent: str | None = None,
        trace_state: str = "",
    ) -> Result:
        """Run `function` with its trigger value; exceptions propagate after being logged.

        `trace_parent`: the invocation's traceparent (None: a new trace, as for a timer or a queue
        message; "": none, the protocol's empty default).
        """
        invocation_id = str(uuid.uuid4())
        outs = {b.name: Out() for b in function.outputs if b.name != RETURN}
        kwargs: dict[str, Any] = {function.trigger.name: trigger_value, **outs}
        if function.wants_context:
            kwargs[CONTEXT_PARAMETER] = InvocationContext(
                invocation_id,
                function.name,
                self._directory,
                invocation_traceparent() if trace_parent is None else trace_parent,
                trace_state,
            )
        logger.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", function.name, reason, invocation_id)
        started = time.perf_counter()
        try:
            value = function.user_function(**kwargs)
            if function.is_async:
                coroutine: Coroutine[Any, Any, Any] = value
                future = asyncio.run_coroutine_threadsafe(coroutine, self._event_loop())
                try:
                    value = future.result(timeout=self._timeout_s)
                except concurrent.futures.TimeoutError:
                    future.cancel()
                    raise FunctionTimeoutError(
                        f"Timeout value of {self._timeout_s:g} s was exceeded by function: "
                        f"Functions.{function.name}"
                    ) from None
        except Exception:
            logger.exception(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)",
                function.name,
                invocation_id,
                (time.perf_counter() - started) * 1000,
            )
            raise
        logger.info(
            "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
            function.name,
            invocation_id,
            (time.perf_counter() - started) * 1000,
        )
        return Result(return_value=value, outputs={name: out.get() for name, out in outs.items()})

    def close(self) -> None:
        """Stop the event loop thread, if one was started."""
        with self._lock:
            loop, thread = self._loop, self._loop_thread
            self._loop = self._loop_thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
