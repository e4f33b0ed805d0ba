"""JSON batching: any number of requests, 20 per `$batch`, throttled items retried on their own.

Graph answers a batch 200 and gives each item its own `status`, `headers` and `body`; a
throttled item carries its own `Retry-After`. Items are retried in a new batch after the
longest of those waits (https://learn.microsoft.com/graph/json-batching,
https://learn.microsoft.com/graph/throttling#best-practices-to-handle-throttling).

`dependsOn` only names ids in the same batch, so a chain of dependent requests is kept in one
batch when it fits in 20; a longer chain is cut in order and its later part waits for the
earlier batch: a request whose dependency failed gets 424 without being sent, and one whose
dependency is being retried is retried with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.errors import GraphError
from shared.graph._errors import graph_error
from shared.http import Deadline, backoff_delay, retry_after_seconds

if TYPE_CHECKING:
    from shared.graph._client import GraphClient

MAX_PER_BATCH = 20  # Graph's limit per $batch call
_READ_RETRY = frozenset({429, 503, 504})
_WRITE_RETRY = frozenset({429})


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch; `id` defaults to its 1-based position, `depends_on` names other ids."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] | None = None
    id: str | None = None
    depends_on: Sequence[str] = ()


@dataclass(frozen=True)
class BatchResponse:
    """Graph's answer to one batch item (or a 424 when a dependency failed)."""

    id: str
    status: int
    headers: Mapping[str, str]
    body: Any
    request: BatchRequest = field(repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> GraphError | None:
        """The item's failure as a GraphError (Graph's code and request ids), None when it succeeded."""
        if self.ok:
            return None
        path = "/" + self.request.url.lstrip("/").split("?", 1)[0]
        return graph_error(
            self.status, self.headers, self.body, method=self.request.method.upper(), path=path
        )

    def raise_for_status(self) -> BatchResponse:
        """Raise the item's GraphError if it failed; else return it."""
        error = self.error()
        if error is not None:
            raise error
        return self


@dataclass
class _Item:
    index: int
    id: str
    request: BatchRequest
    payload: dict[str, Any]  # the JSON item, without dependsOn
    deps: list[int]
    retry_on: frozenset[int]


def run(
    client: GraphClient, requests: list[BatchRequest], deadline: Deadline | float | None
) -> list[BatchResponse]:
    """Send every request, retry throttled items, and answer one BatchResponse per request in order."""
    from shared.graph._client import MIN_ATTEMPT_S, _deadline, _json, resource_units

    items = _items(client, requests)
    results: list[BatchResponse | None] = [None] * len(items)
    last: dict[int, BatchResponse] = {}
    pending = list(range(len(items)))
    batch_url = client.url("/$batch")
    attempt = 0
    while pending:
        retry: set[int] = set()
        deferred: set[int] = set()
        longest: float | None = None
        for chunk in _plan(items, pending):
            sent: list[int] = []
            body: list[dict[str, Any]] = []
            for i in chunk:
                item = items[i]
                inner: list[str] = []
                state = "send"
                for d in item.deps:
                    if d in sent:
                        inner.append(items[d].id)
                    elif d in retry or d in deferred:
                        state = "defer"
                    elif (done := results[d]) is not None and not done.ok:
                        state = "failed" if state == "send" else state
                if state == "defer":
                    deferred.add(i)
                elif state == "failed":
                    results[i] = _failed_dependency(item)
                else:
                    sent.append(i)
                    body.append({**item.payload, "dependsOn": inner} if inner else item.payload)
            if not sent:
                continue
            writes = any(items[i].retry_on is _WRITE_RETRY for i in sent)
            resp = client._send(
                "POST",
                batch_url,
                {"requests": body},
                {},
                _deadline(deadline),
                retry_on=_WRITE_RETRY if writes else _READ_RETRY,
                count_units=False,  # counted per item below: throttled items cost nothing
            )
            answer_body = _json(resp, "POST", "/" + client.version + "/$batch")
            listed = answer_body.get("responses") if isinstance(answer_body, dict) else None
            answers = {str(a.get("id")): a for a in (listed or []) if isinstance(a, dict)}
            throttled = 0
            units = 0.0
            itemized = False
            for i in sent:
                item = items[i]
                answer = answers.get(item.id)
                if answer is None:
                    raise GraphError(
                        f"Graph's $batch answer has no response for item {item.id!r}.",
                        request_id=resp.headers.get("request-id"),
                    )
                headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
                got = BatchResponse(
                    item.id, int(answer.get("status", 0)), headers, answer.get("body"), item.request
                )
                lower = {k.lower(): v for k, v in headers.items()}
                itemized = itemized or "x-ms-resource-unit" in lower
                if got.status != 429:
                    units += resource_units(lower)
                throttled += got.status in _READ_RETRY
                if got.status in item.retry_on or (got.status == 424 and any(d in retry for d in item.deps)):
                    retry.add(i)
                    last[i] = got
                    wait = retry_after_seconds(_header(headers, "Retry-After"))
                    if wait is not None and (longest is None or wait > longest):
                        longest = wait
                else:
                    results[i] = got
            if not itemized:  # only the batch as a whole says what it cost
                units = resource_units(resp.headers)
            client._record_items(throttled, units)
        pending = sorted(retry | deferred)
        if not pending:
            break
        delay = backoff_delay(attempt, longest)
        wait_deadline = deadline if isinstance(deadline, Deadline) else _deadline(deadline)
        if attempt >= client.max_retries or delay + MIN_ATTEMPT_S >= wait_deadline.remaining():
            for i in pending:
                results[i] = last.get(i) or _failed_dependency(items[i])
            break
        client._wait(delay)
        attempt += 1
    return [r if r is not None else _failed_dependency(items[n]) for n, r in enumerate(results)]


def _items(client: GraphClient, requests: list[BatchRequest]) -> list[_Item]:
    ids = [r.id if r.id is not None else str(n + 1) for n, r in enumerate(requests)]
    if len(set(ids)) != len(ids):
        raise ValueError("Batch request ids must be unique.")
    position = {id_: n for n, id_ in enumerate(ids)}
    items: list[_Item] = []
    for n, (id_, req) in enumerate(zip(ids, requests, strict=True)):
        deps = []
        for dep in req.depends_on:
            if dep not in position:
                raise ValueError(f"Batch request {id_!r} depends on {dep!r}, which is not in the batch.")
            deps.append(position[dep])
        method = req.method.upper()
        payload: dict[str, Any] = {"id": id_, "method": method, "url": _relative(client, req.url)}
        headers = dict(req.headers or {})
        if req.body is not None:
            payload["body"] = req.body
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        if headers:
            payload["headers"] = headers
        retry_on = _READ_RETRY if method in ("GET", "HEAD") else _WRITE_RETRY
        items.append(_Item(n, id_, req, payload, deps, retry_on))
    _check_acyclic(items)
    return items


def _relative(client: GraphClient, url: str) -> str:
    """A batch item's URL is relative to the version root: `/users/x`, not `/v1.0/users/x`."""
    if "://" in url:
        parts = urlsplit(client.url(url))
        url = parts.path + (f"?{parts.query}" if parts.query else "")
    url = "/" + url.lstrip("/")
    prefix = f"/{client.version}/"
    return url[len(prefix) - 1 :] if url.startswith(prefix) else url


def _check_acyclic(items: list[_Item]) -> None:
    state: dict[int, int] = {}

    def visit(i: int) -> None:
        if state.get(i) == 2:
            return
        if state.get(i) == 1:
            raise ValueError(f"Batch requests depend on each other in a cycle (through {items[i].id!r}).")
        state[i] = 1
        for d in items[i].deps:
            visit(d)
        state[i] = 2

    for item in items:
        visit(item.index)


def _plan(items: list[_Item], pending: list[int]) -> list[list[int]]:
    """Chunks of at most 20, each dependency before its dependents; a chain kept whole if it fits."""
    pending_set = set(pending)
    parent = {i: i for i in pending}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in pending:
        for d in items[i].deps:
            if d in pending_set:
                parent[root(i)] = root(d)
    groups: dict[int, list[int]] = {}
    for i in pending:  # pending is in request order, so groups are too
        groups.setdefault(root(i), []).append(i)
    chunks: list[list[int]] = [[]]
    for group in groups.values():
        ordered = _topological(items, group)
        if len(chunks[-1]) + len(ordered) > MAX_PER_BATCH and len(ordered) <= MAX_PER_BATCH:
            chunks.append([])
        for i in ordered:
            if len(chunks[-1]) == MAX_PER_BATCH:
                chunks.append([])
            chunks[-1].append(i)
    return [c for c in chunks if c]


def _topological(items: list[_Item], group: list[int]) -> list[int]:
    members = set(group)
    done: set[int] = set()
    ordered: list[int] = []

    def visit(i: int) -> None:
        if i in done:
            return
        done.add(i)
        for d in items[i].deps:
            if d in members:
                visit(d)
        ordered.append(i)

    for i in group:
        visit(i)
    return ordered


def _failed_dependency(item: _Item) -> BatchResponse:
    body = {
        "error": {
            "code": "FailedDependency",
            "message": "Not sent: a request this one depends on failed or could not be retried in time.",
        }
    }
    return BatchResponse(item.id, 424, {}, body, item.request)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)
