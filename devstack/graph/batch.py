"""JSON batching (`POST /v1.0/$batch`): up to 20 requests, each answered and throttled on its own.

Each item is re-dispatched through the emulator as if it had arrived alone (same Authorization
header), so the fault list from `/_devstack/faults` applies to each item's path: a fault that
matches `/users` throttles that item (429 and Retry-After in the item's headers) while the
others succeed, as Graph does. `dependsOn` items run after their dependencies; an item whose
dependency failed gets 424 Failed Dependency.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from devstack.graph.exceptions import BadRequest, GraphError

MAX_REQUESTS = 20
_HOP_BY_HOP = {"content-length", "connection", "transfer-encoding"}


class FailedDependency(GraphError):
    """424 for a batch item whose `dependsOn` request failed (≈ text)."""

    code = "FailedDependency"
    status = 424

    def __init__(self) -> None:
        super().__init__("The request's dependency failed.")


def run_batch(outer: Request, version: str, dispatch: Callable[[Request], Response]) -> dict[str, Any]:
    try:
        body = json.loads(outer.get_data() or b"{}")
        items = body["requests"]
        if not isinstance(items, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise BadRequest("Invalid batch payload format.") from None  # ≈
    if len(items) > MAX_REQUESTS:
        raise BadRequest.batch_too_large()
    ids = [str(i.get("id", "")) if isinstance(i, dict) else "" for i in items]
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        raise BadRequest("Each batch request needs a unique 'id'.")  # ≈
    for item in items:
        if str(item.get("url", "")).lstrip("/").startswith("$batch"):
            raise BadRequest("A batch request cannot contain another batch request.")  # ≈
        for dep in item.get("dependsOn") or []:
            if str(dep) not in ids:
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
    url = str(item.get("url", ""))
    path, _, query = url.partition("?")
    headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
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
        data=json.dumps(data) if isinstance(data, (dict, list)) else data,
    )
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


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
