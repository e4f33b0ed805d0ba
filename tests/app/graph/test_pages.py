"""Paging with @odata.nextLink and delta rounds against Graph: request counts and link handling."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.graph import GraphClient
from tests.app.graph.support import graph_counts, scripted_graph
from tests.conftest import tls_session


@pytest.mark.parametrize("top", [100, 7, 999])
def test_paging_makes_one_request_per_page(devstack: OfflineTenant, graph: GraphClient, top: int) -> None:
    """Listing every user makes exactly ceil(N / page size) requests and yields each user once."""
    total = len(devstack.tenant.users)
    with graph.tracking() as usage:
        ids = [u["id"] for u in graph.pages("/users", select=["id", "displayName"], top=top)]
    assert len(ids) == len(set(ids)) == total
    assert usage.requests == math.ceil(total / top)
    assert graph_counts(devstack) == {"ListUsers": math.ceil(total / top)}


def test_paging_with_filter_and_count(devstack: OfflineTenant, graph: GraphClient) -> None:
    """A filtered, counted listing follows nextLink with the same options (ConsistencyLevel included)."""
    expected = [u for u in devstack.tenant.users if u.display_name.lower().startswith("a")]
    names = [
        u["displayName"]
        for u in graph.pages("/users", filter="startswith(displayName,'a')", count=True, top=1)
    ]
    assert len(names) == len(expected) >= 2  # top=1: one page each
    assert all(n.lower().startswith("a") for n in names)


def test_paging_continues_through_an_empty_page(tmp_path: Path) -> None:
    """An empty page that still carries @odata.nextLink is followed to the end (as delta pages can be)."""
    pages: list[dict[str, Any]] = [
        {"value": [{"id": "1"}], "@odata.nextLink": "{next}/v1.0/pages/1?$skiptoken=a"},
        {"value": [], "@odata.nextLink": "{next}/v1.0/pages/2?$skiptoken=b"},
        {"value": [{"id": "2"}, {"id": "3"}]},
    ]
    with scripted_graph(tmp_path, pages) as (base, ca, seen), tls_session(ca) as session:
        g = GraphClient(token=lambda: "t", base_url=base, session=session)
        assert [i["id"] for i in g.pages("/pages/0")] == ["1", "2", "3"]
    assert seen == ["/v1.0/pages/0", "/v1.0/pages/1?$skiptoken=a", "/v1.0/pages/2?$skiptoken=b"]


def test_delta_yields_changes_and_keeps_the_delta_link(tmp_path: Path) -> None:
    """A delta round follows nextLink through empty pages, exposes deltaLink, and resumes from it."""
    pages: list[dict[str, Any]] = [
        {"value": [{"id": "1"}], "@odata.nextLink": "{next}/v1.0/pages/1?$skiptoken=a"},
        {"value": [], "@odata.deltaLink": "{next}/v1.0/pages/2?$deltatoken=d1"},
        {
            "value": [{"id": "1", "@removed": {"reason": "deleted"}}],
            "@odata.deltaLink": "{next}/v1.0/pages/3?$deltatoken=d2",
        },
    ]
    with scripted_graph(tmp_path, pages) as (base, ca, seen), tls_session(ca) as session:
        g = GraphClient(token=lambda: "t", base_url=base, session=session)
        d = g.delta("/pages/0", select=["id"])
        assert d.delta_link is None
        assert [c["id"] for c in d] == ["1"]
        assert d.delta_link == f"{base}/v1.0/pages/2?$deltatoken=d1"
        resumed = g.delta("/ignored", delta_link=d.delta_link)
        assert list(resumed) == [{"id": "1", "@removed": {"reason": "deleted"}}]
        assert resumed.delta_link == f"{base}/v1.0/pages/3?$deltatoken=d2"
    assert seen[0] == "/v1.0/pages/0?$select=id"
    assert seen[1:] == ["/v1.0/pages/1?$skiptoken=a", "/v1.0/pages/2?$deltatoken=d1"]
