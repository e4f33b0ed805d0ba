"""Writes and delta rounds against the Graph emulator: retried only when Graph did not process them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.errors import GraphError
from shared.graph import GraphClient
from tests.app.graph.support import app_token, graph_counts
from tests.app_env import fault
from tests.conftest import tls_session

WRITE_ROLES = ["User.Read.All", "User.ReadWrite.All"]


@pytest.fixture
def writer(devstack: OfflineTenant, ca_bundle: str) -> Iterator[GraphClient]:
    """A client whose token may create, update and delete users."""
    token = app_token(devstack, roles=WRITE_ROLES)
    with tls_session(ca_bundle) as session:
        yield GraphClient(token=lambda: token, base_url=devstack.state()["graphUrl"], session=session)


def _new_user(devstack: OfflineTenant) -> dict[str, object]:
    nickname = f"graphclient-{uuid.uuid4().hex[:8]}"
    return {
        "accountEnabled": True,
        "displayName": nickname,
        "mailNickname": nickname,
        "userPrincipalName": f"{nickname}@{devstack.tenant.default_domain}",
        "passwordProfile": {"password": f"Pw-{uuid.uuid4()}"},
    }


def _upns(devstack: OfflineTenant, upn: object) -> int:
    return sum(1 for u in devstack.tenant.users if u.user_principal_name == upn)


def test_a_create_throttled_with_429_is_sent_again_and_made_once(
    devstack: OfflineTenant, writer: GraphClient
) -> None:
    """POST /users answered 429 (not processed) is retried and creates exactly one user."""
    body = _new_user(devstack)
    fault(devstack, "graph", match="/v1.0/users$", status=429, times=1, retryAfter=0.1)
    with writer.tracking() as usage:
        created = writer.post("/users", json=body)
    assert created["userPrincipalName"] == body["userPrincipalName"]
    assert (usage.requests, usage.throttled) == (2, 1)
    assert graph_counts(devstack) == {"CreateUser": 2}
    assert _upns(devstack, body["userPrincipalName"]) == 1
    writer.delete(f"/users/{created['id']}")


def test_a_create_answered_503_is_not_sent_again(devstack: OfflineTenant, writer: GraphClient) -> None:
    """POST /users answered 503 may have been applied: it is raised, not repeated."""
    body = _new_user(devstack)
    fault(devstack, "graph", match="/v1.0/users$", status=503, times=1, retryAfter=0)
    with pytest.raises(GraphError) as caught:
        writer.post("/users", json=body)
    assert caught.value.status == 503
    assert graph_counts(devstack) == {"CreateUser": 1}


def test_delta_rounds_against_the_emulator(devstack: OfflineTenant, writer: GraphClient) -> None:
    """A first delta round lists every user; resuming from its deltaLink yields only what changed since."""
    first = writer.delta("/users/delta", select=["id", "displayName"])
    everyone = {c["id"] for c in first}
    assert len(everyone) == len(devstack.tenant.users)
    assert first.delta_link is not None
    assert graph_counts(devstack)["UsersDelta"] == -(-len(everyone) // 100)  # one request a page

    created = writer.post("/users", json=_new_user(devstack))
    changed = next(iter(everyone))
    writer.patch(f"/users/{changed}", json={"jobTitle": "Graph client test"})
    again = writer.delta("/users/delta", delta_link=first.delta_link)
    assert {c["id"] for c in again} == {created["id"], changed}
    assert again.delta_link not in (None, first.delta_link)

    writer.delete(f"/users/{created['id']}")
    removed = list(writer.delta("/users/delta", delta_link=again.delta_link))
    assert [(c["id"], "@removed" in c) for c in removed] == [(created["id"], True)]
