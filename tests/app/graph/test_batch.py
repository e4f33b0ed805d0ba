"""$batch against the devstack Graph: 20 per call, per-item retries, dependsOn, one answer per request."""

from __future__ import annotations

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.errors import GraphError
from shared.graph import BatchRequest, GraphClient
from tests.app.graph.support import graph_counts, user_ids
from tests.app_env import fault

MISSING = "00000000-0000-0000-0000-00000000dead"


def test_45_requests_make_3_batch_calls_in_order(devstack: OfflineTenant, graph: GraphClient) -> None:
    """45 GETs go out as 3 $batch calls (20, 20, 5) and come back one answer per request, in order."""
    ids = user_ids(devstack, 45)
    with graph.tracking() as usage:
        answers = graph.batch([BatchRequest("GET", f"/users/{i}?$select=id") for i in ids])
    assert [a.body["id"] for a in answers] == ids
    assert [a.id for a in answers] == [str(n) for n in range(1, 46)]
    assert all(a.status == 200 for a in answers)
    assert graph_counts(devstack) == {"Batch": 3, "GetUser": 45}
    assert (usage.requests, usage.throttled, usage.waited_seconds) == (3, 0, 0.0)


def test_only_throttled_items_are_retried(devstack: OfflineTenant, graph: GraphClient) -> None:
    """Items answered 429/503 are sent again in a new batch after the longest Retry-After; the rest once."""
    ids = user_ids(devstack, 30)
    fault(devstack, "graph", match=f"/users/{ids[3]}$", status=429, times=1, retryAfter=0.2)
    fault(devstack, "graph", match=f"/users/{ids[25]}$", status=503, times=1, retryAfter=0.5)
    with graph.tracking() as usage:
        answers = graph.batch([BatchRequest("GET", f"/users/{i}") for i in ids])
    assert [a.body["id"] for a in answers] == ids
    assert all(a.ok for a in answers)
    # 2 first-round calls (20 + 10), then one call carrying just the two throttled items.
    assert graph_counts(devstack) == {"Batch": 3, "GetUser": 32}
    assert usage.throttled == 2
    assert usage.waited_seconds == pytest.approx(0.5, abs=0.01)


def test_a_write_item_is_retried_on_429_but_not_on_503(devstack: OfflineTenant, graph: GraphClient) -> None:
    """In a batch, a DELETE answered 429 is sent again; one answered 503 keeps its 503."""
    fault(
        devstack,
        "graph",
        match="/subscriptions/3a7c1f52-1111-4bbb-8ccc-00000000000a",
        status=429,
        retryAfter=0,
    )
    fault(
        devstack,
        "graph",
        match="/subscriptions/3a7c1f52-1111-4bbb-8ccc-00000000000b",
        status=503,
        retryAfter=0,
    )
    answers = graph.batch(
        [
            BatchRequest("DELETE", "/subscriptions/3a7c1f52-1111-4bbb-8ccc-00000000000a"),
            BatchRequest("DELETE", "/subscriptions/3a7c1f52-1111-4bbb-8ccc-00000000000b"),
        ]
    )
    assert [a.status for a in answers] == [404, 503]  # the retried DELETE reached the handler
    assert graph_counts(devstack) == {"Batch": 2, "DeleteSubscription": 3}


def test_depends_on_is_sent_as_graph_reads_it(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A request depending on a failed one gets 424 from Graph: dependsOn reached it (not depends_on)."""
    uid = user_ids(devstack, 1)[0]
    answers = graph.batch(
        [
            BatchRequest("GET", f"/users/{MISSING}", id="a"),
            BatchRequest("GET", f"/users/{uid}", id="b", depends_on=["a"]),
            BatchRequest("GET", f"/users/{uid}", id="c"),
        ]
    )
    assert [(a.id, a.status) for a in answers] == [("a", 404), ("b", 424), ("c", 200)]
    assert graph_counts(devstack) == {"Batch": 1, "GetUser": 2}
    error = answers[0].error()
    assert isinstance(error, GraphError)
    assert (error.status, error.code) == (404, "Request_ResourceNotFound")
    with pytest.raises(GraphError):
        answers[1].raise_for_status()


def test_a_chain_longer_than_a_batch_keeps_its_order(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A 25-request dependsOn chain is cut into 20 + 5; when its head fails, every later link gets 424."""
    uid = user_ids(devstack, 1)[0]
    chain = [BatchRequest("GET", f"/users/{MISSING}", id="0")]
    chain += [BatchRequest("GET", f"/users/{uid}", id=str(n), depends_on=[str(n - 1)]) for n in range(1, 25)]
    answers = graph.batch(chain)
    assert [a.status for a in answers] == [404] + [424] * 24
    # Only the first 20 were sent; the last 5 were answered 424 without a call.
    assert graph_counts(devstack) == {"Batch": 1, "GetUser": 1}


def test_a_chain_longer_than_a_batch_succeeds_in_two_calls(
    devstack: OfflineTenant, graph: GraphClient
) -> None:
    """A 25-request chain of good requests runs in two $batch calls, in order, all 200."""
    ids = user_ids(devstack, 25)
    chain = [
        BatchRequest("GET", f"/users/{u}", id=f"r{n}", depends_on=[f"r{n - 1}"] if n else [])
        for n, u in enumerate(ids)
    ]
    answers = graph.batch(chain)
    assert [a.body["id"] for a in answers] == ids
    assert graph_counts(devstack) == {"Batch": 2, "GetUser": 25}


def test_chains_that_fit_are_not_split(devstack: OfflineTenant, graph: GraphClient) -> None:
    """Independent requests fill batches, but a dependent pair is moved whole to the next batch."""
    ids = user_ids(devstack, 21)
    reqs = [BatchRequest("GET", f"/users/{u}") for u in ids[:19]]
    reqs += [
        BatchRequest("GET", f"/users/{MISSING}", id="head"),
        BatchRequest("GET", f"/users/{ids[20]}", id="tail", depends_on=["head"]),
    ]
    answers = graph.batch(reqs)
    # Split across batches, the tail would run despite its failed head; kept together, Graph says 424.
    assert [a.status for a in answers[-2:]] == [404, 424]
    assert graph_counts(devstack) == {"Batch": 2, "GetUser": 20}


def test_a_throttled_dependency_is_retried_with_its_dependent(
    devstack: OfflineTenant, graph: GraphClient
) -> None:
    """When a dependency is throttled, its dependent (424) is retried with it and both succeed."""
    ids = user_ids(devstack, 2)
    fault(devstack, "graph", match=f"/users/{ids[0]}$", status=429, times=1, retryAfter=0.1)
    answers = graph.batch(
        [
            BatchRequest("GET", f"/users/{ids[0]}", id="first"),
            BatchRequest("GET", f"/users/{ids[1]}", id="second", depends_on=["first"]),
        ]
    )
    assert [(a.id, a.status) for a in answers] == [("first", 200), ("second", 200)]
    # first: 429 then 200; second: 424 from Graph without running, then 200.
    assert graph_counts(devstack) == {"Batch": 2, "GetUser": 3}


def test_items_still_throttled_at_the_deadline_keep_their_429(
    devstack: OfflineTenant, graph: GraphClient
) -> None:
    """An item whose next wait would pass the deadline comes back with its last 429; the others succeed."""
    ids = user_ids(devstack, 3)
    fault(devstack, "graph", match=f"/users/{ids[1]}$", status=429, times=10, retryAfter=5)
    answers = graph.batch([BatchRequest("GET", f"/users/{u}") for u in ids], deadline=1.0)
    assert [a.status for a in answers] == [200, 429, 200]
    error = answers[1].error()
    assert error is not None
    assert error.retry_after == 5.0
    assert graph_counts(devstack) == {"Batch": 1, "GetUser": 3}


def test_bad_dependencies_are_refused_before_sending(graph: GraphClient) -> None:
    """Unknown ids, duplicate ids and cycles are caller errors, raised before any request."""
    with pytest.raises(ValueError, match="not in the batch"):
        graph.batch([BatchRequest("GET", "/users", depends_on=["x"])])
    with pytest.raises(ValueError, match="unique"):
        graph.batch([BatchRequest("GET", "/users", id="1"), BatchRequest("GET", "/me", id="1")])
    with pytest.raises(ValueError, match="cycle"):
        graph.batch(
            [
                BatchRequest("GET", "/users", id="a", depends_on=["b"]),
                BatchRequest("GET", "/users", id="b", depends_on=["a"]),
            ]
        )
