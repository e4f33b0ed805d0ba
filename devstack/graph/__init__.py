"""The Microsoft Graph emulator (`/v1.0`, `/beta`): directory reads and writes, delta, $batch,
application credentials, subscriptions with change notification delivery, and Graph's
identity-and-access throttling.

Layout (moto's shape): `models.py` (state and operations on the tenant: writes and the change
log; no HTTP), `responses.py` (HTTP in and out), `urls.py` (the route table), `exceptions.py`
(Graph's errors with their exact code, status and text). Beside them, each without HTTP:
`credentials.py` (addKey/removeKey proofs, addPassword, PATCH keyCredentials), `delta.py`,
`throttling.py`, `query.py` (paging, $select, $top, $filter), `representations.py` (tenant
objects as Graph JSON), `permissions.py` (`REQUIRED`: roles/scopes per operation), `auth.py`
(token checks), `batch.py`, `subscriptions.py` and `notifications.py` (delivery); and
`emulator.py`, the WSGI app with its control endpoints (listed in its docstring and in
`docs/contract.md`: /_devstack/throttling, /clock, /subscriptions, /notifications, /changes).
"""

from __future__ import annotations

from devstack.graph.emulator import GraphEmulator
from devstack.graph.permissions import REQUIRED, Permission
from devstack.tenant.models import Tenant

__all__ = ["REQUIRED", "GraphEmulator", "Permission", "create_app"]


def create_app(tenant: Tenant) -> GraphEmulator:
    """The Graph emulator for `tenant` (a WSGI application)."""
    return GraphEmulator(tenant)
