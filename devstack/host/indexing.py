"""Import the app and index its functions once (a second `get_functions()` call raises).

This is the only place in devstack that imports the app: the module is named by a
`module:attribute` spec (default `function_app:app`), so tests can serve their own app.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from devstack.host.errors import HostStartupError

logger = logging.getLogger(__name__)

DEFAULT_APP = "function_app:app"
HTTP_TRIGGER = "httpTrigger"
TIMER_TRIGGER = "timerTrigger"
QUEUE_TRIGGER = "queueTrigger"
HTTP_OUTPUT = "http"
QUEUE_OUTPUT = "queue"
SUPPORTED_TRIGGERS = (HTTP_TRIGGER, TIMER_TRIGGER, QUEUE_TRIGGER)
SUPPORTED_OUTPUTS = (HTTP_OUTPUT, QUEUE_OUTPUT)
RETURN = "$return"
CONTEXT_PARAMETER = "context"


@dataclass(frozen=True)
class Binding:
    """One binding as function.json would list it (trigger included)."""

    name: str
    type: str
    direction: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class IndexedFunction:
    """A function of the app, checked against what the local host can run."""

    name: str
    trigger: Binding
    outputs: tuple[Binding, ...]
    user_function: Callable[..., Any]
    wants_context: bool
    is_async: bool


def _binding(raw: Any) -> Binding:
    data = raw.get_dict_repr()
    direction = str(data.get("direction", "")).lower().rsplit(".", 1)[-1]
    return Binding(name=str(data["name"]), type=str(data["type"]), direction=direction, settings=data)


def _index_one(function: Any) -> IndexedFunction:
    name = str(function.get_function_name())
    trigger = _binding(function.get_trigger())
    if trigger.type not in SUPPORTED_TRIGGERS:
        raise HostStartupError(
            f"function '{name}': trigger type '{trigger.type}' is not supported by the local host "
            f"(supported: {', '.join(SUPPORTED_TRIGGERS)})"
        )
    outputs: list[Binding] = []
    for raw in function.get_bindings():
        binding = _binding(raw)
        if binding.name == trigger.name and binding.type == trigger.type:
            continue
        if binding.direction != "out" or binding.type not in SUPPORTED_OUTPUTS:
            raise HostStartupError(
                f"function '{name}': {binding.direction} binding '{binding.name}' of type '{binding.type}' "
                f"is not supported by the local host (outputs supported: {', '.join(SUPPORTED_OUTPUTS)})"
            )
        if binding.type == HTTP_OUTPUT and trigger.type != HTTP_TRIGGER:
            raise HostStartupError(f"function '{name}': an http output needs an http trigger")
        outputs.append(binding)
    user_function = function.get_user_function()
    parameters = inspect.signature(user_function).parameters
    declared = {trigger.name} | {b.name for b in outputs if b.name != RETURN}
    # The Python worker refuses a function whose parameters and bindings disagree; so do we.
    unknown = [p for p in parameters if p not in declared and p != CONTEXT_PARAMETER]
    missing = [b for b in sorted(declared) if b not in parameters]
    if unknown or missing:
        raise HostStartupError(
            f"function '{name}': parameters {unknown or ''} have no binding; bindings {missing or ''} "
            "have no parameter"
        )
    _check_annotations(name, user_function, parameters)
    return IndexedFunction(
        name=name,
        trigger=trigger,
        outputs=tuple(outputs),
        user_function=user_function,
        wants_context=CONTEXT_PARAMETER in parameters and CONTEXT_PARAMETER not in declared,
        is_async=asyncio.iscoroutinefunction(user_function),
    )


def _check_annotations(name: str, user_function: Any, parameters: Any) -> None:
    """The Python worker resolves every annotation (`typing.get_type_hints`) when it loads a
    function, and passes `context` only when it is annotated `azure.functions.Context` (or not at
    all); a name it cannot resolve, or another type, fails the function's load."""
    try:
        hints = typing.get_type_hints(user_function)
    except Exception as exc:
        raise HostStartupError(f"function '{name}': its annotations do not resolve: {exc!r}") from exc
    wanted = hints.get(CONTEXT_PARAMETER)
    if (
        CONTEXT_PARAMETER in parameters
        and wanted is not None
        and not (isinstance(wanted, type) and issubclass(wanted, func.Context))
    ):
        raise HostStartupError(
            f"function '{name}': the \"context\" parameter is expected to be of type azure.functions.Context"
        )


def index_app(app: Any) -> list[IndexedFunction]:
    """Index an already imported FunctionApp; call once per app."""
    try:
        functions = app.get_functions()
    except Exception as exc:
        raise HostStartupError(f"indexing the app's functions failed: {exc}") from exc
    indexed = [_index_one(f) for f in functions]
    logger.info("%d functions found: %s", len(indexed), ", ".join(f.name for f in indexed) or "-")
    return indexed


def load_app(spec: str = DEFAULT_APP) -> list[IndexedFunction]:
    """Import `module:attribute` and index its functions; any failure is a HostStartupError."""
    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        # Azure shows this as "0 functions loaded"; here it stops the start with the cause.
        logger.exception("Importing %s failed", module_name)
        raise HostStartupError(f"cannot import the app module '{module_name}': {exc!r}") from exc
    app = getattr(module, attribute, None)
    if app is None or not hasattr(app, "get_functions"):
        raise HostStartupError(f"'{spec}' is not a FunctionApp (no '{attribute}' with get_functions)")
    return index_app(app)
