"""`GraphClient`: requests with retries within a deadline, paging, delta and `$batch` on `requests`.

One client per connection, long-lived and thread-safe: it holds the connection's pooled
`requests.Session` and a callable that returns a current bearer token (the connection's cache
makes that free when warm). Protocol notes and Microsoft's pages: docs/graph.md.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from shared import telemetry
from shared.boundary import graph_transport_error
from shared.config import get_settings
from shared.errors import GraphError, GraphTimeoutError
from shared.graph import _batch
from shared.graph._errors import graph_error, response_error
from shared.graph._query import ParamValue, odata_params, query_string
from shared.graph._usage import Usage, record, tracking
from shared.http import Deadline, backoff_delay, current_deadline, retry_after_seconds

log = logging.getLogger(__name__)

# Graph asks clients to retry these after Retry-After (https://learn.microsoft.com/graph/throttling).
RETRYABLE = frozenset({429, 503, 504})
# A write that got 503/504 may have been applied; only a 429 says it was not processed.
RETRYABLE_WRITE = frozenset({429})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
# A retry is only worth starting with this much of the deadline left after its wait.
MIN_ATTEMPT_S = 0.1
VERSIONS = ("v1.0", "beta")


class GraphClient:
    """Microsoft Graph for one connection: `get/post/patch/put/delete`, `pages`, `delta`, `batch`.

    `deadline` (seconds or a `shared.http.Deadline`) bounds one request and its retries; without
    it the enclosing `shared.http.deadline_scope` applies, else the default deadline from settings.
    """

    def __init__(
        self,
        *,
        token: Callable[[], str],
        base_url: str,
        session: requests.Session | None = None,
        version: str = "v1.0",
        max_retries: int = 8,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {VERSIONS}, not {version!r}")
        self._token = token
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._origin = (parts.scheme.lower(), parts.netloc.lower())
        self.version = version
        self.max_retries = max_retries
        self._session = session if session is not None else _new_session()
        timing = get_settings().timing
        self._connect_timeout = timing.connect_timeout_s
        self._read_timeout = timing.read_timeout_s
        self._id = id(self)

    def close(self) -> None:
        """Close the pooled session (the connection does it when it is forgotten)."""
        self._session.close()

    def __repr__(self) -> str:
        return f"GraphClient(base_url={self.base_url!r}, version={self.version!r})"

    # -- the caller's counts ----------------------------------------------------
    def tracking(self) -> AbstractContextManager[Usage]:
        """Count this client's requests, throttled answers, waits and resource units in this context."""
        return tracking(self._id)

    # -- one request --------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        deadline: Deadline | float | None = None,
        select: ParamValue = None,
        expand: ParamValue = None,
        filter: str | None = None,
        count: bool | None = None,
        search: str | None = None,
        orderby: ParamValue = None,
        top: int | None = None,
        params: Mapping[str, ParamValue] | None = None,
    ) -> Any:
        """Send one request (retried as Graph asks) and return its JSON, or None for an empty answer."""
        url, all_headers = self._prepare(
            path, headers, select, expand, filter, count, search, orderby, top, params
        )
        resp = self._send(method.upper(), url, json, all_headers, _deadline(deadline))
        return _json(resp, method.upper(), urlsplit(url).path)

    def get(self, path: str, **options: Any) -> Any:
        """GET `path` (`/users/{id}`, `/v1.0/...`, or a full Graph URL) with OData options."""
        return self.request("GET", path, **options)

    def post(self, path: str, *, json: Any = None, **options: Any) -> Any:
        """POST `json`; retried only on 429 (Graph did not process it)."""
        return self.request("POST", path, json=json, **options)

    def patch(self, path: str, *, json: Any = None, **options: Any) -> Any:
        """PATCH `json`; retried only on 429."""
        return self.request("PATCH", path, json=json, **options)

    def put(self, path: str, *, json: Any = None, **options: Any) -> Any:
        """PUT `json`; retried only on 429."""
        return self.request("PUT", path, json=json, **options)

    def delete(self, path: str, **options: Any) -> None:
        """DELETE `path`; retried only on 429."""
        self.request("DELETE", path, **options)

    # -- collections --------------------------------------------------------------
    def pages(
        self,
        path: str,
        *,
        select: ParamValue = None,
        expand: ParamValue = None,
        filter: str | None = None,
        count: bool | None = None,
        search: str | None = None,
        orderby: ParamValue = None,
        top: int | None = None,
        params: Mapping[str, ParamValue] | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: Deadline | float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page after page, following `@odata.nextLink`.

        An empty page that still has a nextLink is followed (delta and filtered pages can be
        empty before the end). `top` is the page size (1-999), not a total.
        """
        url, all_headers = self._prepare(
            path, headers, select, expand, filter, count, search, orderby, top, params
        )
        next_url: str | None = url
        while next_url is not None:
            page = self._page(next_url, all_headers, deadline)
            yield from page.get("value") or []
            next_url = self._follow(page.get("@odata.nextLink"))

    def delta(
        self,
        path: str,
        *,
        select: ParamValue = None,
        filter: str | None = None,
        params: Mapping[str, ParamValue] | None = None,
        headers: Mapping[str, str] | None = None,
        delta_link: str | None = None,
        deadline: Deadline | float | None = None,
    ) -> Delta:
        """A delta query (`/users/delta`): iterate for the changes, then keep `.delta_link`.

        With `delta_link` (one kept from an earlier round) it resumes from there and the other
        options are ignored: Graph encodes them in the link.
        """
        if delta_link is not None:
            start = self._follow(delta_link)
            assert start is not None
            _, all_headers = self._prepare(path, headers, None, None, None, None, None, None, None, None)
        else:
            start, all_headers = self._prepare(
                path, headers, select, None, filter, None, None, None, None, params
            )
        return Delta(self, start, all_headers, deadline)

    # -- $batch ---------------------------------------------------------------------
    def batch(
        self, requests: Iterable[_batch.BatchRequest], *, deadline: Deadline | float | None = None
    ) -> list[_batch.BatchResponse]:
        """Any number of requests, sent 20 per `$batch`; one answer per request, in order.

        Items answered 429/503/504 (a write: only 429) are sent again in a new batch after the
        longest Retry-After, within the deadline; an item that still has no final answer when
        the next wait would pass it keeps its last (throttled) answer.
        """
        return _batch.run(self, list(requests), deadline)

    # -- plumbing shared with _batch and Delta --------------------------------------
    def _prepare(
        self,
        path: str,
        headers: Mapping[str, str] | None,
        select: ParamValue,
        expand: ParamValue,
        filter: str | None,
        count: bool | None,
        search: str | None,
        orderby: ParamValue,
        top: int | None,
        params: Mapping[str, ParamValue] | None,
    ) -> tuple[str, dict[str, str]]:
        query, eventual = odata_params(
            select=select,
            expand=expand,
            filter=filter,
            count=count,
            search=search,
            orderby=orderby,
            top=top,
            params=params,
        )
        url = self.url(path)
        if query:
            url += ("&" if "?" in url else "?") + query_string(query)
        all_headers = dict(headers or {})
        if eventual and not any(k.lower() == "consistencylevel" for k in all_headers):
            all_headers["ConsistencyLevel"] = "eventual"
        return url, all_headers

    def url(self, path: str) -> str:
        """The absolute URL of `path`: `/users` -> `{base}/v1.0/users`; Graph URLs only."""
        if "://" in path:
            checked = self._follow(path)
            assert checked is not None
            return checked
        path = "/" + path.lstrip("/")
        first = path.split("/", 2)[1]
        return self.base_url + (path if first in VERSIONS else f"/{self.version}{path}")

    def _follow(self, link: object) -> str | None:
        """A nextLink/deltaLink, refused unless it points at this Graph (the token goes with it)."""
        if link is None:
            return None
        text = str(link)
        parts = urlsplit(text)
        if (parts.scheme.lower(), parts.netloc.lower()) != self._origin:
            raise GraphError(
                f"Graph returned a link to another origin ({parts.scheme}://{parts.netloc}); not followed.",
                path=parts.path,
            )
        return text

    def _page(
        self, url: str, headers: Mapping[str, str], deadline: Deadline | float | None
    ) -> dict[str, Any]:
        resp = self._send("GET", url, None, headers, _deadline(deadline))
        body = _json(resp, "GET", urlsplit(url).path)
        if not isinstance(body, dict):
            raise GraphError(f"Graph answered GET {urlsplit(url).path} without a collection.")
        return body

    def _send(
        self,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        deadline: Deadline,
        *,
        retry_on: frozenset[int] | None = None,
        count_units: bool = True,
    ) -> requests.Response:
        """One logical request: sent, and sent again on 429/503/504 while the deadline allows."""
        path = urlsplit(url).path
        if retry_on is None:
            retry_on = RETRYABLE if method in _READS else RETRYABLE_WRITE
        client_request_id = str(uuid.uuid4())
        attempt = 0
        started = time.monotonic()
        while True:
            left = deadline.remaining()
            if left <= 0:
                raise GraphTimeoutError(
                    f"Deadline passed before Graph answered {method} {path}.",
                    method=method,
                    path=path,
                    client_request_id=client_request_id,
                )
            sent_headers = {
                **headers,
                "Authorization": f"Bearer {self._token()}",
                "client-request-id": client_request_id,
            }
            try:
                resp = self._session.request(
                    method,
                    url,
                    json=body,
                    headers=sent_headers,
                    timeout=(min(self._connect_timeout, left), min(self._read_timeout, left)),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise graph_transport_error(
                    exc, method=method, path=path, client_request_id=client_request_id
                ) from exc
            status = resp.status_code
            record(
                self._id,
                requests=1,
                throttled=int(status in RETRYABLE),
                # A throttled request takes nothing from the bucket, whatever its header says.
                resource_units=resource_units(resp.headers) if count_units and status != 429 else 0.0,
            )
            if status < 400:
                return resp
            if status not in retry_on or attempt >= self.max_retries:
                log.info(
                    "Graph %s %s -> %s (request-id %s)", method, path, status, resp.headers.get("request-id")
                )
                raise response_error(resp, method=method, path=path)
            retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
            delay = backoff_delay(attempt, retry_after)
            if delay + MIN_ATTEMPT_S >= deadline.remaining():
                raise graph_error(
                    status,
                    resp.headers,
                    _body_or_none(resp),
                    method=method,
                    path=path,
                    timeout=True,
                    waited=f" ({time.monotonic() - started:.1f} s, {attempt + 1} attempts)",
                )
            log.info(
                "Graph %s %s -> %s; retrying in %.2f s (Retry-After %s, attempt %d)",
                method,
                path,
                status,
                delay,
                resp.headers.get("Retry-After"),
                attempt + 1,
            )
            resp.close()
            time.sleep(delay)
            record(self._id, waited=delay)
            attempt += 1

    def _record_items(self, throttled: int, units: float) -> None:
        record(self._id, throttled=throttled, resource_units=units)

    def _wait(self, delay: float) -> None:
        time.sleep(delay)
        record(self._id, waited=delay)


class Delta:
    """The changes of a delta query; after a full iteration, `delta_link` is the link to keep.

    Iterating again continues from `delta_link`: it yields what changed since the last round.
    Deleted objects come back with `@removed` (https://learn.microsoft.com/graph/delta-query-overview).
    """

    def __init__(
        self,
        client: GraphClient,
        start: str,
        headers: Mapping[str, str],
        deadline: Deadline | float | None,
    ) -> None:
        self._client = client
        self._next = start
        self._headers = dict(headers)
        self._deadline = deadline
        self.delta_link: str | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        url: str | None = self._next
        while url is not None:
            page = self._client._page(url, self._headers, self._deadline)
            yield from page.get("value") or []
            url = self._client._follow(page.get("@odata.nextLink"))
            link = self._client._follow(page.get("@odata.deltaLink"))
            if url is not None:
                self._next = url
            elif link is not None:
                self.delta_link = self._next = link
            else:
                raise GraphError(
                    "Graph ended a delta round without @odata.deltaLink.", path=urlsplit(self._next).path
                )


def resource_units(headers: Mapping[str, str]) -> float:
    """Graph's `x-ms-resource-unit` (the cost of the request), 0 when absent or malformed."""
    value = headers.get("x-ms-resource-unit")
    if not value:
        return 0.0
    try:
        return float(value)
    except ValueError:
        return 0.0


def _deadline(deadline: Deadline | float | None) -> Deadline:
    if isinstance(deadline, Deadline):
        return deadline
    if deadline is not None:
        return Deadline.after(float(deadline))
    return current_deadline()


def _json(resp: requests.Response, method: str, path: str) -> Any:
    if resp.status_code == 204 or not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        raise GraphError(
            f"Graph answered {method} {path} with {resp.status_code} and a body that is not JSON.",
            status=resp.status_code,
            request_id=resp.headers.get("request-id"),
        ) from None


def _body_or_none(resp: requests.Response) -> Any:
    try:
        return resp.json() if resp.content else None
    except ValueError:
        return None


def _new_session() -> requests.Session:
    """A pooled session like the connection's: the environment may not override `verify`."""
    telemetry.ensure()  # telemetry on: configured before the first Graph call (docs/telemetry.md)
    session = requests.Session()
    session.trust_env = False
    session.verify = get_settings().ca_bundle or True
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    return session
