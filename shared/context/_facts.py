"""Facts dataclasses -> JSON, once, at the edge: field names in camelCase, values as JSON types.

Nothing is renamed or filtered by name here: what is not a field of a facts dataclass
(shared/identity/facts.py) cannot reach the report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any


def camel(name: str) -> str:
    """`key_vault_version` -> `keyVaultVersion`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_json(value: Any) -> Any:
    """A facts dataclass (or a value inside one) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise TypeError(f"{type(value).__name__} is not a facts value")
