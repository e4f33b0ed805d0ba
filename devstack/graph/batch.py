"""JSON batching (`POST /v1.0/$batch`): up to 20 requests, each answered and throttled on its own.

Each item is re-dispatched through the emulator as if it had arrived alone (same Authorization
header), so the fault list from `/_devstack/faults` applies to each item's path: a fault that
matches `/users` throttles that item (429 and Retry-After in the item's headers) while the
others succeed, as Graph does. `dependsOn` items run after their dependencies; an item whose
dependency failed gets 424 Failed Dependency.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from devstack.core.problems import loads
from devstack.graph.exceptions import BadRequest, GraphError

MAX_REQUESTS = 20
_HOP_BY_HOP = {"content-length", "connection", "transfer-encoding"}
BATCH_ITEM = "devstack.graph.batch_item"  # environ mark of a request that is a batch's item
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}
_NESTED = "A batch request cannot contain another batch request."
_FIELD = "Invalid batch payload format: '{}' of a request {}."  # ≈


def _check_item(item: Any) -> None:
    """Each request of a batch: an object with a string id, method and url, string headers."""
    if not isinstance(item, dict):
        raise BadRequest("Invalid batch payload format: each request must be an object.")  # ≈
    for name in ("id", "method", "url"):
        value = item.get(name)
        if not isinstance(value, str) or not value or len(value) > 2048:
            raise BadRequest(_FIELD.format(name, "must be a non-empty string"))
    if item["method"].upper() not in _METHODS:
        raise BadRequest(_FIELD.format("method", "must be an HTTP method"))
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in item["url"]):
        raise BadRequest(_FIELD.format("url", "holds a space or a control character"))
    path = urllib.parse.unquote(item["url"].split("?", 1)[0]).lower()
    path = path.split("://", 1)[-1] if "://" in path else path
    if any(segment == "$batch" for segment in path.split("/")):
        raise BadRequest(_NESTED)  # ≈
    headers = item.get("headers")
    if headers is not None and not (
        isinstance(headers, dict)
        and all(_token(k) and isinstance(v, str) and _field_value(v) for k, v in headers.items())
    ):
        raise BadRequest(_FIELD.format("headers", "must map header names to values without CR or LF"))
    depends = item.get("dependsOn")
    if depends is not None and not (isinstance(depends, list) and all(isinstance(d, str) for d in depends)):
        raise BadRequest(_FIELD.format("dependsOn", "must be a list of request ids"))


def _token(name: str) -> bool:
    return bool(name) and all(c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~") for c in name)


def _field_value(value: str) -> bool:
    return all(c == "\t" or 0x20 <= ord(c) <= 0x7E or 0x80 <= ord(c) <= 0xFF for c in value)


class FailedDependency(GraphError):
    """424 for a batch item whose `dependsOn` request failed (≈ text)."""

    code = "FailedDependency"
    status = 424

    def __init__(self) -> None:
        super().__init__("The request's dependency failed.")


def run_batch(outer: Request, version: str, dispatch: Callable[[Request], Response]) -> dict[str, Any]:
    if outer.environ.get(BATCH_ITEM):
        # However its URL was spelled (`/$batch`, `/%24batch`, `$BATCH`): one level only.
        raise BadRequest(_NESTED)  # ≈
    try:
        body = loads(outer.get_data() or b"{}")
        items = body["requests"]
        if not isinstance(items, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise BadRequest("Invalid batch payload format.") from None  # ≈
    if len(items) > MAX_REQUESTS:
        raise BadRequest.batch_too_large()
    for item in items:
        _check_item(item)
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise BadRequest("Each batch request needs a unique 'id'.")  # ≈
    for item in items:
        for dep in item.get("dependsOn") or []:
            if dep not in ids:
                raise BadRequest(f"Dependency '{dep}' not found in the batch.")  # ≈

    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in _in_dependency_order(items):
        item_id = str(item["id"])
        deps = [str(d) for d in item.get("dependsOn") or []]
        if any(statuses.get(d, 0) >= 400 for d in deps):
            response = FailedDependency().to_response(outer)
        else:
            response = dispatch(_inner_request(outer, version, item))
        statuses[item_id] = response.status_code
        responses.append(_render(item_id, response))
    return {"responses": responses}


def _in_dependency_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done: set[str] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(items)
    while pending:
        ready = [i for i in pending if all(str(d) in done for d in i.get("dependsOn") or [])]
        if not ready:
            raise BadRequest("Batch dependencies form a cycle.")  # ≈
        for i in ready:
            ordered.append(i)
            done.add(str(i["id"]))
            pending.remove(i)
    return ordered


def _inner_request(outer: Request, version: str, item: dict[str, Any]) -> Request:
    url = str(item["url"])
    path, _, query = url.partition("?")
    headers = dict(item.get("headers") or {})
    for name in ("Authorization", "client-request-id"):
        if name in outer.headers and name not in headers:
            headers[name] = outer.headers[name]
    data = item.get("body")
    builder = EnvironBuilder(
        path=f"/{version}/{path.lstrip('/')}",
        base_url=outer.host_url,
        query_string=query,
        method=str(item.get("method", "GET")).upper(),
        headers=list(headers.items()),
        data=None if data is None else data if isinstance(data, str) else json.dumps(data),
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ[BATCH_ITEM] = True
    return Request(environ)


def _render(item_id: str, response: Response) -> dict[str, Any]:
    raw = response.get_data()
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
    return {"id": item_id, "status": response.status_code, "headers": headers, "body": body}
