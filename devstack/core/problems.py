"""RFC 9457 `application/problem+json`: the devstack's own answers (control endpoints, the host).

`ControlError` is a client mistake in a devstack-only request; `ControlBody` reads a control
endpoint's JSON object field by field, refusing wrong types and out-of-range values with a short
detail of our own (never the text of a Python exception).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from werkzeug.wrappers import Request, Response

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """A problem response with the standard title for `status`."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    return Response(json.dumps(body), status=status, headers=dict(headers or {}), content_type=PROBLEM_JSON)


class ControlError(Exception):
    """A malformed devstack-only request: answered as a problem with `status` and `detail`."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status

    def to_response(self) -> Response:
        return problem(self.status, self.detail)


def loads(data: bytes, *, max_depth: int = 64) -> Any:
    """JSON from bytes; ValueError (never RecursionError) for bad UTF-8, bad JSON or too deep nesting."""
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise ValueError("too deeply nested") from exc
    if depth(value) > max_depth:
        raise ValueError("too deeply nested")
    return value


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative: no recursion limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


def encodable(text: str) -> bool:
    """JSON may carry lone surrogates that no UTF-8 text (or HTTP header) can hold."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def finite_number(value: object, low: float, high: float) -> bool:
    """A JSON number (not a bool, not NaN or infinite) from `low` to `high`."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and low <= value <= high
    )


class ControlBody:
    """A control endpoint's JSON object (`{}` when the body is empty)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    @classmethod
    def of(cls, request: Request) -> ControlBody:
        data = request.get_data()
        if not data.strip():
            return cls({})
        try:
            value = loads(data)
        except ValueError as exc:
            raise ControlError("The body is not valid JSON (UTF-8, at most 64 levels deep).") from exc
        if not isinstance(value, dict):
            raise ControlError("The body must be a JSON object.")
        return cls(value)

    def get(self, name: str) -> Any:
        return self.fields.get(name)

    def string(self, name: str, default: str | None = None, *, max_length: int = 4096) -> str | None:
        value = self.fields.get(name)
        if value is None:
            return default
        if not isinstance(value, str) or len(value) > max_length or not encodable(value):
            raise ControlError(f"'{name}' must be a string of at most {max_length} characters.")
        return value

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.fields.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ControlError(f"'{name}' must be an integer from {low} to {high}.")
        return int(value)

    def number(self, name: str, *, low: float, high: float) -> float | None:
        value = self.fields.get(name)
        if value is None:
            return None
        if not finite_number(value, low, high):
            raise ControlError(f"'{name}' must be a number from {low:g} to {high:g}.")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.fields.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ControlError(f"'{name}' must be true or false.")
        return value

    def string_map(self, name: str) -> dict[str, str] | None:
        value = self.fields.get(name)
        if value is None:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(v, str) and encodable(v) and encodable(k) for k, v in value.items()
        ):
            raise ControlError(f"'{name}' must be an object of strings.")
        return dict(value)

    def string_list(self, name: str) -> list[str]:
        value = self.fields.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and encodable(v) for v in value):
            raise ControlError(f"'{name}' must be a list of strings.")
        return list(value)
