"""The App Service managed identity endpoint (protocol 2019-08-01), plain http as in Azure."""

from __future__ import annotations

from devstack.core.emulator import Emulator
from devstack.tenant.models import Tenant


def create_app(tenant: Tenant, identity_header: str) -> Emulator:
    """STUB: replaced by the identity emulator."""
    e = Emulator()
    e.name = "identity"
    return e
