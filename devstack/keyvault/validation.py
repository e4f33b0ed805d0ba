"""Request-body checks where input enters Key Vault: types, sizes and ranges -> `BadParameter`.

Limits from Key Vault's service limits (https://learn.microsoft.com/azure/key-vault/general/
service-limits and .../about-keys-secrets-certificates): a secret value up to 25 KB, 15 tags
per object, tag names up to 512 and values up to 256 characters.
"""

from __future__ import annotations

from typing import Any

from devstack.core.problems import encodable, loads
from devstack.keyvault.exceptions import BadParameter

MAX_SECRET_BYTES = 25 * 1024
MAX_TAGS = 15
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256
MAX_CONTENT_TYPE = 255


def json_object(data: bytes) -> dict[str, Any]:
    """The body as a JSON object (`{}` when empty); BadParameter for anything else."""
    try:
        body = loads(data or b"{}")
    except ValueError as exc:
        raise BadParameter("The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise BadParameter("The request body must be a JSON object.")
    return body


def obj(body: dict[str, Any], name: str) -> dict[str, Any]:
    """An optional nested object (`{}` when absent or null)."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadParameter(f"Property '{name}' must be an object.")
    return value


def string(body: dict[str, Any], name: str, *, required: bool = False, max_length: int = 4096) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadParameter(f"Property '{name}' is required and must be a string.")
        return None
    if not isinstance(value, str) or not encodable(value):
        raise BadParameter(f"Property '{name}' must be a string.")
    if len(value) > max_length:
        raise BadParameter(f"Property '{name}' is longer than {max_length} characters.")
    return value


def boolean(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadParameter(f"Property '{name}' must be true or false.")
    return value


def integer(body: dict[str, Any], name: str, default: int, *, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadParameter(f"Property '{name}' must be an integer from {low} to {high}.")
    return int(value)


def tags(body: dict[str, Any]) -> dict[str, str] | None:
    value = body.get("tags")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(v, str) and encodable(v) and encodable(k) for k, v in value.items()
    ):
        raise BadParameter("Property 'tags' must be an object of string values.")
    if len(value) > MAX_TAGS:
        raise BadParameter(f"An object may have at most {MAX_TAGS} tags.")
    if any(len(k) > MAX_TAG_NAME or len(v) > MAX_TAG_VALUE for k, v in value.items()):
        raise BadParameter(f"Tag names are at most {MAX_TAG_NAME}, values {MAX_TAG_VALUE} characters.")
    return dict(value)


def attributes(body: dict[str, Any]) -> dict[str, Any]:
    """`attributes`: `enabled` a boolean, `nbf` / `exp` integers (epoch seconds)."""
    attrs = obj(body, "attributes")
    boolean(attrs, "enabled", True)
    for name in ("nbf", "exp", "created", "updated"):
        integer(attrs, name, 0, low=0, high=253_402_300_799)
    return attrs


def secret_value(body: dict[str, Any]) -> str:
    value = string(body, "value", required=True, max_length=MAX_SECRET_BYTES)
    assert value is not None
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise BadParameter(f"The secret value exceeds {MAX_SECRET_BYTES} bytes.")
    return value
