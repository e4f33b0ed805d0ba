"""GraphClient's single requests against the devstack Graph: JSON, typed errors, retries, deadlines."""

from __future__ import annotations

import email.utils
import logging
import threading
import time

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared.errors import GraphError, GraphTimeoutError, UpstreamError
from shared.graph import GraphClient
from shared.identity import connection, reset_connections
from tests.app.graph.support import GRAPH, app_token, graph_counts, user_ids
from tests.app_env import app_connection, configure, fault
from tests.conftest import tls_session


def test_get_returns_the_selected_json(devstack: OfflineTenant, graph: GraphClient) -> None:
    """get() returns Graph's JSON with only the $select-ed properties."""
    uid = user_ids(devstack, 1)[0]
    user = graph.get(f"/users/{uid}", select=["id", "displayName"])
    assert user["id"] == uid
    assert set(user) - {"@odata.context"} == {"id", "displayName"}


def test_404_carries_graph_code_and_request_ids(graph: GraphClient) -> None:
    """A 404 is a GraphError with Graph's code, its request-id and the client-request-id we sent."""
    with pytest.raises(GraphError) as caught:
        graph.get("/users/00000000-0000-0000-0000-000000000000")
    err = caught.value
    assert isinstance(err, UpstreamError)
    assert (err.status, err.code, err.step) == (404, "Request_ResourceNotFound", "graph")
    assert len(err.request_id or "") == 36
    assert err.client_request_id not in (None, err.request_id)
    assert not err.outage
    assert "GET /v1.0/users/00000000-0000-0000-0000-000000000000" in str(err)


def test_403_carries_graph_code_request_id_and_a_hint(devstack: OfflineTenant, ca_bundle: str) -> None:
    """A token without User.Read.All gets 403 Authorization_RequestDenied with request ids and a hint."""
    token = app_token(devstack, roles=["Organization.Read.All"])
    with tls_session(ca_bundle) as session:
        g = GraphClient(token=lambda: token, base_url=devstack.state()["graphUrl"], session=session)
        with pytest.raises(GraphError) as caught:
            g.get("/users", top=1)
    err = caught.value
    assert (err.status, err.code) == (403, "Authorization_RequestDenied")
    assert err.request_id
    assert err.client_request_id
    assert "permission" in (err.hint or "")
    assert err.to_dict()["requestId"] == err.request_id


def test_token_and_query_never_in_errors_or_logs(
    graph: GraphClient, devstack: OfflineTenant, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the bearer token nor the query string appears in an error message or a log line."""
    token = app_token(devstack)
    secret_filter = "startswith(displayName,'Sensitive-Name-42')"
    fault(devstack, "graph", match="/v1.0/users$", status=503, times=1, retryAfter=0)
    # The app logs at Information (host.json); urllib3 writes URLs only at DEBUG.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="shared")
    with pytest.raises(GraphError) as caught:
        graph.get("/users", filter=secret_filter, select=["nosuchproperty"])
    text = str(caught.value) + repr(caught.value) + str(caught.value.to_dict()) + caplog.text
    assert caught.value.status == 400
    assert "Sensitive-Name-42" not in text
    assert token not in text
    assert token[:40] not in text
    assert "retrying" in caplog.text  # the 503 was logged, without the query


def test_count_sends_consistency_level_eventual(graph: GraphClient) -> None:
    """$count on users needs ConsistencyLevel: eventual (Graph answers 400 without it); the client adds it."""
    body = graph.get("/users", count=True, top=5, select=["id"])
    assert body["@odata.count"] >= 250
    assert len(body["value"]) == 5


@pytest.mark.parametrize(("retry_after", "low", "high"), [("1", 1.0, 1.5), ("0.4", 0.4, 0.9)])
def test_read_retried_after_retry_after_seconds(
    devstack: OfflineTenant, graph: GraphClient, retry_after: str, low: float, high: float
) -> None:
    """A 429 with Retry-After in whole or decimal seconds is waited out once, then the GET succeeds."""
    uid = user_ids(devstack, 1)[0]
    fault(devstack, "graph", match=f"/users/{uid}$", status=429, times=1, retryAfter=retry_after)
    started = time.monotonic()
    with graph.tracking() as usage:
        assert graph.get(f"/users/{uid}")["id"] == uid
    elapsed = time.monotonic() - started
    assert (usage.requests, usage.throttled) == (2, 1)
    assert usage.waited_seconds == pytest.approx(float(retry_after), abs=0.01)
    assert low <= elapsed < high
    assert graph_counts(devstack)["GetUser"] == 2


def test_read_retried_after_retry_after_http_date(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A Retry-After given as an HTTP-date is waited out until that time, then the GET succeeds."""
    uid = user_ids(devstack, 1)[0]
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    fault(devstack, "graph", match=f"/users/{uid}$", status=503, times=1, retryAfter=when)
    with graph.tracking() as usage:
        assert graph.get(f"/users/{uid}")["id"] == uid
    # The date has one-second resolution: the wait is between 1 and 2 seconds.
    assert 1.0 <= usage.waited_seconds <= 2.0
    assert (usage.requests, usage.throttled) == (2, 1)


def test_backoff_with_jitter_when_no_retry_after(devstack: OfflineTenant, graph: GraphClient) -> None:
    """504s without Retry-After are retried with growing jittered waits until the GET succeeds."""
    uid = user_ids(devstack, 1)[0]
    fault(devstack, "graph", match=f"/users/{uid}$", status=504, times=2)
    with graph.tracking() as usage:
        assert graph.get(f"/users/{uid}")["id"] == uid
    assert (usage.requests, usage.throttled) == (3, 2)
    # attempt 0: 0.125-0.25 s, attempt 1: 0.25-0.5 s
    assert 0.375 <= usage.waited_seconds <= 0.75


def test_write_not_retried_on_503(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A DELETE answered 503 may have been applied: it is not sent again, the 503 is raised."""
    fault(devstack, "graph", match="/subscriptions/", status=503, times=1, retryAfter=0)
    with graph.tracking() as usage, pytest.raises(GraphError) as caught:
        graph.delete("/subscriptions/3a7c1f52-1111-4bbb-8ccc-000000000001")
    assert (caught.value.status, caught.value.code) == (503, "serviceNotAvailable")
    assert caught.value.outage
    assert usage.requests == 1
    assert graph_counts(devstack)["DeleteSubscription"] == 1


def test_write_retried_on_429(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A DELETE answered 429 (not processed) is sent again after Retry-After and reaches Graph."""
    fault(devstack, "graph", match="/subscriptions/", status=429, times=1, retryAfter=0.2)
    with graph.tracking() as usage, pytest.raises(GraphError) as caught:
        graph.delete("/subscriptions/3a7c1f52-1111-4bbb-8ccc-000000000001")
    # The retry reached the real handler, which knows no such subscription.
    assert caught.value.status == 404
    assert (usage.requests, usage.throttled) == (2, 1)
    assert graph_counts(devstack)["DeleteSubscription"] == 2


def test_deadline_passed_by_a_long_retry_after(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A Retry-After longer than the deadline raises GraphTimeoutError at once, with Graph's answer."""
    uid = user_ids(devstack, 1)[0]
    fault(devstack, "graph", match=f"/users/{uid}$", status=429, times=5, retryAfter=5)
    started = time.monotonic()
    with pytest.raises(GraphTimeoutError) as caught:
        graph.get(f"/users/{uid}", deadline=1.0)
    assert time.monotonic() - started < 1.0
    err = caught.value
    assert (err.status, err.code, err.outage) == (429, "TooManyRequests", True)
    assert err.retry_after == 5.0
    assert err.request_id


def test_deadline_passed_by_a_slow_answer(devstack: OfflineTenant, graph: GraphClient) -> None:
    """An answer slower than the deadline raises GraphTimeoutError within the deadline."""
    uid = user_ids(devstack, 1)[0]
    fault(devstack, "graph", match=f"/users/{uid}$", status=0, times=1, delayMs=3000)
    started = time.monotonic()
    with pytest.raises(GraphTimeoutError) as caught:
        graph.get(f"/users/{uid}", deadline=0.5)
    assert time.monotonic() - started < 0.8
    assert isinstance(caught.value.__cause__, requests.Timeout)


def test_retries_stop_within_repeated_throttling(devstack: OfflineTenant, graph: GraphClient) -> None:
    """Throttling that never ends is retried until the deadline, then raised before it passes."""
    uid = user_ids(devstack, 1)[0]
    fault(devstack, "graph", match=f"/users/{uid}$", status=429, times=50, retryAfter=0.25)
    started = time.monotonic()
    with graph.tracking() as usage, pytest.raises(GraphTimeoutError):
        graph.get(f"/users/{uid}", deadline=1.0)
    assert time.monotonic() - started < 1.0
    # Three waits of 0.25 s fit; a fourth would leave less than a useful attempt's time (0.1 s).
    assert usage.requests == 4
    assert usage.waited_seconds == pytest.approx(0.75, abs=0.01)


def test_unreachable_graph_is_an_outage_mapped_from_requests(ca_bundle: str) -> None:
    """A refused connection is a GraphError outage raised from requests' ConnectionError."""
    with tls_session(ca_bundle) as session:
        g = GraphClient(token=lambda: "t", base_url="https://127.0.0.1:9", session=session)
        with pytest.raises(GraphError) as caught:
            g.get("/organization")
    assert caught.value.outage
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert "127.0.0.1:9" not in str(caught.value)


def test_links_to_another_origin_are_refused(graph: GraphClient) -> None:
    """A URL outside this Graph is refused before any request, so the token never leaves."""
    with pytest.raises(GraphError, match="another origin"):
        graph.get("https://attacker.example/v1.0/users")


def test_tracking_is_per_thread(devstack: OfflineTenant, graph: GraphClient) -> None:
    """Two threads tracking the same client each count only their own requests."""
    uid = user_ids(devstack, 1)[0]
    seen: dict[str, int] = {}

    def work(name: str, n: int) -> None:
        with graph.tracking() as usage:
            for _ in range(n):
                graph.get(f"/users/{uid}", select=["id"])
        seen[name] = usage.requests

    threads = [threading.Thread(target=work, args=(f"t{n}", n)) for n in (2, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == {"t2": 2, "t5": 5}


def test_a_real_connection_token_lists_users(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, ca_bundle: str
) -> None:
    """With a certificate connection's token (msal against the devstack Entra), the client lists users."""
    configure(
        monkeypatch,
        devstack,
        {"cert": app_connection(devstack, "certificate", CERTIFICATE="entra-automation-cert")},
    )
    conn = connection("cert")
    with tls_session(ca_bundle) as session:
        g = GraphClient(
            token=lambda: conn.token(GRAPH).value, base_url=devstack.state()["graphUrl"], session=session
        )
        assert len(list(g.pages("/users", select=["id"], top=999))) == len(devstack.tenant.users)
    reset_connections()


def test_a_connections_graph_is_the_readme_example(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`connection(name).graph.pages("/users", select=[...])` works as written, one client per connection."""
    configure(
        monkeypatch,
        devstack,
        {"graph_cert": app_connection(devstack, "certificate", CERTIFICATE="entra-automation-cert")},
    )
    try:
        g = connection("graph_cert").graph
        assert g is connection("graph_cert").graph
        users = list(g.pages("/users", select=["id", "displayName"]))
        assert len(users) == len(devstack.tenant.users)
        with pytest.raises(GraphError) as caught:
            g.get("/users/00000000-0000-0000-0000-000000000000")
        assert caught.value.code == "Request_ResourceNotFound"
    finally:
        reset_connections()
