"""The client under the Graph emulator's throttling model and at scale: bursts, batches, 2,500 users."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.errors import GraphTimeoutError
from shared.graph import BatchRequest, GraphClient
from tests.app.graph.support import app_token, graph_counts, set_throttling, user_ids
from tests.app_env import reset_counts
from tests.conftest import tls_session


def test_a_burst_beyond_the_bucket_waits_and_succeeds(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A burst of 8 one-unit GETs against a 5-unit bucket gets 429s; honouring Retry-After, all succeed."""
    set_throttling(devstack, resourceUnitsPer10s=5)
    ids = user_ids(devstack, 8)
    with graph.tracking() as usage:
        got = [graph.get(f"/users/{u}", select=["id"])["id"] for u in ids]
    assert got == ids
    assert usage.throttled >= 1
    assert usage.requests == 8 + usage.throttled
    assert usage.waited_seconds >= usage.throttled  # Graph's Retry-After here is whole seconds
    assert usage.resource_units == 8  # one unit per served GET; a 429 costs nothing


def test_throttling_headers_reach_the_error(devstack: OfflineTenant, graph: GraphClient) -> None:
    """Throttled past the deadline, the error carries Graph's scope, information and resource unit."""
    set_throttling(devstack, resourceUnitsPer10s=2)
    uid = user_ids(devstack, 1)[0]
    graph.get(f"/users/{uid}", select=["id"])
    graph.get(f"/users/{uid}", select=["id"])
    with pytest.raises(GraphTimeoutError) as caught:
        graph.get(f"/users/{uid}", select=["id"], deadline=0.5)
    err = caught.value
    assert (err.status, err.code) == (429, "TooManyRequests")
    assert (err.throttle_scope or "").startswith("Tenant_Application/ReadWrite/")
    assert err.throttle_information == "ResourceUnitLimitExceeded"
    assert err.resource_unit == "1"
    assert err.retry_after is not None
    assert err.retry_after >= 1


def test_batch_items_throttled_one_by_one_are_retried(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A 25-item batch against a 20-unit bucket: the items over the bucket are retried until all succeed."""
    set_throttling(devstack, resourceUnitsPer10s=20)
    ids = user_ids(devstack, 25)
    with graph.tracking() as usage:
        answers = graph.batch([BatchRequest("GET", f"/users/{u}?$select=id") for u in ids])
    assert [a.body["id"] for a in answers] == ids
    assert usage.throttled >= 5
    assert usage.resource_units == 25
    assert graph_counts(devstack)["Batch"] == usage.requests >= 3


@pytest.mark.parametrize("top", [999, 100])
def test_paging_over_2500_seeded_users(scaled_devstack: Callable[[int], OfflineTenant], top: int) -> None:
    """Listing the scale seed's 2,500 users (and the base seed's) takes exactly ceil(N / page) requests."""
    stack = scaled_devstack(2500)
    reset_counts(stack)
    total = len(stack.tenant.users)
    assert total >= 2500
    token = app_token(stack)
    with tls_session(stack.state()["caBundle"]) as session:
        g = GraphClient(token=lambda: token, base_url=stack.state()["graphUrl"], session=session)
        with g.tracking() as usage:
            ids = {u["id"] for u in g.pages("/users", select=["id"], top=top)}
    assert len(ids) == total
    assert usage.requests == math.ceil(total / top)
    assert graph_counts(stack) == {"ListUsers": math.ceil(total / top)}
