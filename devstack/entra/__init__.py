"""STUB: the entra emulator."""

from __future__ import annotations

from devstack.core.emulator import Emulator
from devstack.tenant.models import Tenant


def create_app(tenant: Tenant) -> Emulator:
    """STUB: replaced by the entra emulator."""
    e = Emulator()
    e.name = "entra"
    return e
