"""Webhook handlers as declarations: registered when their module is imported, called by the processor.

    from shared.webhooks import WebhookEvent, on_signed

    @on_signed("github", scheme="github")
    def on_push(event: WebhookEvent) -> None: ...

A handler module is named once in function_app.py (`webhook_handlers("app_webhooks.github")`)
and imported lazily, the first time a webhook route or the processor needs the registry, so
importing function_app stays light. A handler gets the decoded, verified (and for rich Graph
notifications decrypted) event; raising makes the event fail and retry, then land in the
poison queue with its error.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from shared.webhooks._settings import valid_source, webhook_settings
from shared.webhooks._signatures import SCHEMES

GRAPH, EVENTGRID, SIGNED = "graph", "eventgrid", "signed"


@dataclass(frozen=True)
class WebhookEvent:
    """One verified event as a handler sees it.

    `source` is "graph", "eventgrid" or the signed source's name; `id` the sender's event id;
    `type` the change type, lifecycle event, Event Grid / CloudEvents type or the sender's
    event header (X-GitHub-Event); `subject` the Graph resource or the event's subject;
    `data` the payload (JSON decoded; for a rich Graph notification, the decrypted resource);
    `raw` the notification or event as received, minus secrets; `attempt` counts from 1.
    """

    source: str
    id: str
    type: str
    subject: str | None
    data: Any
    raw: dict[str, Any] = field(repr=False)
    received_at: str
    attempt: int = 1


Handler = Callable[[WebhookEvent], object]


@dataclass(frozen=True)
class Registration:
    kind: str  # graph | eventgrid | signed
    source: str
    pattern: str  # Graph resource or event type glob; "*" = any
    function: Handler
    name: str


_lock = threading.Lock()
_registrations: list[Registration] = []
_signed_schemes: dict[str, str] = {}
_modules: list[str] = []
_loaded: set[str] = set()


def _register(reg: Registration) -> None:
    with _lock:
        if not any(
            (r.name, r.source, r.pattern) == (reg.name, reg.source, reg.pattern) for r in _registrations
        ):
            _registrations.append(reg)


def _name(function: Handler) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"


def on_graph(resource: str = "*") -> Callable[[Handler], Handler]:
    """Handle Graph change notifications whose `resource` matches the glob (`users/*`, `groups/*`)."""

    def register(function: Handler) -> Handler:
        _register(Registration(GRAPH, GRAPH, resource, function, _name(function)))
        return function

    return register


def on_eventgrid(event_type: str = "*") -> Callable[[Handler], Handler]:
    """Handle Event Grid / CloudEvents events whose type matches the glob (`Microsoft.Storage.*`)."""

    def register(function: Handler) -> Handler:
        _register(Registration(EVENTGRID, EVENTGRID, event_type, function, _name(function)))
        return function

    return register


def on_signed(source: str, *, scheme: str, event_type: str = "*") -> Callable[[Handler], Handler]:
    """Handle signed webhooks posted to /api/webhooks/signed/{source}, verified with `scheme`.

    The secret is the Key Vault secret `webhook-{source}`.
    """
    declare_signed_source(source, scheme)

    def register(function: Handler) -> Handler:
        _register(Registration(SIGNED, source, event_type, function, _name(function)))
        return function

    return register


def declare_signed_source(source: str, scheme: str) -> None:
    """Accept /api/webhooks/signed/{source} (events are stored even with no handler)."""
    if not valid_source(source):
        raise ValueError(
            f"signed source {source!r}: use a-z, 0-9 and -, 2-63 characters, not graph/eventgrid/events"
        )
    if scheme not in SCHEMES:
        raise ValueError(f"signed source {source!r}: scheme must be one of {', '.join(SCHEMES)}")
    with _lock:
        known = _signed_schemes.get(source)
        if known is not None and known != scheme:
            raise ValueError(f"signed source {source!r} is declared with two schemes: {known}, {scheme}")
        _signed_schemes[source] = scheme


def webhook_handlers(*modules: str) -> None:
    """Name modules that register handlers; they are imported on first use (one line in function_app)."""
    with _lock:
        _modules.extend(m for m in modules if m not in _modules)


def load_handlers() -> None:
    """Import the named handler modules once (an import error is a bug: it propagates)."""
    import os

    from shared.webhooks._settings import HANDLER_MODULES

    configured = [m.strip() for m in (os.environ.get(HANDLER_MODULES) or "").split(",") if m.strip()]
    for module in [*_modules, *configured]:
        if module not in _loaded:
            importlib.import_module(module)
            with _lock:
                _loaded.add(module)


def signed_scheme(source: str) -> str | None:
    """The scheme of a declared signed source (code or WEBHOOKS_SIGNED_SOURCES), or None if unknown."""
    load_handlers()
    return _signed_schemes.get(source) or webhook_settings().signed_sources.get(source)


def handlers_for(kind: str, source: str, pattern_subject: str) -> list[Registration]:
    """Registrations of `kind`/`source` whose pattern matches the resource or type.

    Graph resources match without regard to case: Graph paths are case-insensitive and its
    notifications write `Users/{id}` where a handler (and delta) says `users/...`.
    """
    load_handlers()
    with _lock:
        regs = list(_registrations)
    if kind == GRAPH:
        subject = pattern_subject.lower()
        return [
            r
            for r in regs
            if r.kind == kind and r.source == source and fnmatchcase(subject, r.pattern.lower())
        ]
    return [
        r for r in regs if r.kind == kind and r.source == source and fnmatchcase(pattern_subject, r.pattern)
    ]


def registrations() -> list[Registration]:
    load_handlers()
    with _lock:
        return list(_registrations)


def reset_registry() -> None:
    """Forget every registration (tests)."""
    with _lock:
        _registrations.clear()
        _signed_schemes.clear()
        _modules.clear()
        _loaded.clear()
