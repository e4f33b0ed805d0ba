"""The local Functions host: HTTP server, timers and queue listeners for one indexed app."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devstack.core.server import Limits, RunningServer, serve
from devstack.host.auth import HostKeys
from devstack.host.errors import HostStartupError
from devstack.host.http_app import HttpApp
from devstack.host.indexing import HTTP_TRIGGER, QUEUE_TRIGGER, TIMER_TRIGGER, IndexedFunction, load_app
from devstack.host.invocation import Invoker
from devstack.host.queues import QueueClients, QueueListener, QueueOutputs
from devstack.host.settings import HostConfig, apply_log_levels, read_host_json
from devstack.host.timers import TimerRunner

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class FunctionsHost:
    """Serves one app's functions; build it with `load`, then `start` and `stop`."""

    def __init__(
        self,
        functions: list[IndexedFunction],
        *,
        root: Path,
        environ: Mapping[str, str],
        config: HostConfig,
        keys: HostKeys,
        port: int,
    ) -> None:
        self.functions = functions
        self.config = config
        self.keys = keys
        self._invoker = Invoker(root, config.function_timeout.total_seconds())
        self._clients = QueueClients()
        self._outputs = QueueOutputs(self._clients, environ, config)
        for function in functions:
            self._outputs.check(function)
        self._timers = [
            TimerRunner.for_function(f, environ, self._invoker, self._outputs)
            for f in functions
            if f.trigger.type == TIMER_TRIGGER
        ]
        self._queue_listeners = [
            QueueListener(f, environ, config, self._invoker, self._clients, self._outputs)
            for f in functions
            if f.trigger.type == QUEUE_TRIGGER
        ]
        self.wsgi_app = HttpApp(
            [f for f in functions if f.trigger.type == HTTP_TRIGGER],
            route_prefix=config.route_prefix,
            keys=keys,
            invoker=self._invoker,
            body_limit=config.body_limit,
            send_outputs=self._outputs,
        )
        self._requested_port = port
        self._server: RunningServer | None = None

    @classmethod
    def load(
        cls, app_spec: str, *, root: Path, environ: Mapping[str, str], keys: HostKeys, port: int
    ) -> FunctionsHost:
        """Import and index the app, check every binding; HostStartupError if it cannot be served."""
        document = read_host_json(root, environ)
        apply_log_levels(document)
        config = HostConfig.from_host_json(document, environ)
        return cls(load_app(app_spec), root=root, environ=environ, config=config, keys=keys, port=port)

    @property
    def port(self) -> int:
        """The port the HTTP server listens on (known after `start`)."""
        if self._server is None:
            raise RuntimeError("the host is not started")
        return self._server.port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/<routePrefix>`."""
        prefix = f"/{self.config.route_prefix}" if self.config.route_prefix else ""
        return f"http://{LOOPBACK}:{self.port}{prefix}"

    def start(self) -> None:
        """Listen on loopback, then start timers and queue listeners."""
        # Kestrel's limits (request line 8 KiB, headers 32 KiB) and the host's maxRequestBodySize.
        limits = Limits(body_bytes=self.config.body_limit)
        try:
            self._server = serve(
                self.wsgi_app, ssl_context=None, port=self._requested_port, limits=limits, name="host"
            )
        except OSError as exc:
            raise HostStartupError(
                f"cannot listen on {LOOPBACK}:{self._requested_port} ({exc.strerror}); "
                "is another `make run` running? Choose another port with --port"
            ) from exc
        for timer in self._timers:
            timer.start()
        for listener in self._queue_listeners:
            listener.start()
        logger.info("Functions host listening on %s", self.base_url)

    def stop(self) -> None:
        """Stop listening, stop timers and listeners (running invocations may finish); idempotent."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        for timer in self._timers:
            timer.stop()
        for listener in self._queue_listeners:
            listener.stop()
        self._clients.close()
        self._invoker.close()

    def describe(self) -> list[dict[str, Any]]:
        """One line per function for the start banner, as `func start` lists them."""
        rows = []
        for f in self.functions:
            settings = f.trigger.settings
            rows.append({"name": f.name, "trigger": f.trigger.type, "route": settings.get("route")})
        return rows
