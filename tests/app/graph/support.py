"""Helpers for the Graph client tests: tokens from the devstack's issuer, Graph's request counts."""

from __future__ import annotations

from typing import Any

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import GRAPH_APP_ID
from tests.app_env import by_operation

GRAPH = "https://graph.microsoft.com"


def app_token(devstack: OfflineTenant, roles: list[str] | None = None) -> str:
    """A Graph token for the seeded app `entra-automation`, with its granted roles or `roles`."""
    tenant = devstack.tenant
    app = tenant.app_by_name("entra-automation")
    assert app is not None
    if roles is None:
        roles = sorted(tenant.roles_for(app.sp_object_id, GRAPH_APP_ID))
    token, _ = tenant.issuer.issue(app.principal(), GRAPH, roles=roles)
    return str(token)


def graph_counts(devstack: OfflineTenant) -> dict[str, int]:
    """Graph's requests by operation since the last reset (batch items counted as their operation)."""
    return by_operation(devstack, "graph")


def user_ids(devstack: OfflineTenant, n: int) -> list[str]:
    """The object ids of the first `n` seeded users."""
    users: list[Any] = devstack.tenant.users
    return [str(u.object_id) for u in users[:n]]
