"""The Microsoft Graph emulator (`/v1.0`, `/beta`): directory reads, $batch, subscriptions.

Layout (moto-style): `urls.py` (the route table), `responses.py` (HTTP in and out),
`representations.py` (tenant objects as Graph JSON), `query.py` (paging, $select, $top,
$filter; no HTTP), `permissions.py` (`REQUIRED`: roles/scopes per operation), `auth.py`
(token checks), `batch.py`, `subscriptions.py`, `exceptions.py` (Graph's errors), and
`emulator.py` (the WSGI app with its control endpoints).
"""

from __future__ import annotations

from devstack.graph.emulator import GraphEmulator
from devstack.graph.permissions import REQUIRED, Permission
from devstack.tenant.models import Tenant

__all__ = ["REQUIRED", "GraphEmulator", "Permission", "create_app"]


def create_app(tenant: Tenant) -> GraphEmulator:
    """The Graph emulator for `tenant` (a WSGI application)."""
    return GraphEmulator(tenant)
