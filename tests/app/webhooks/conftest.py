"""The webhook tests' environment: the app against the devstack (Key Vault, Entra) and Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.identity import reset_connections
from tests.app.webhooks.support import APP_ID, TENANT


def _reset() -> None:
    from shared.auth import reset_signing_keys
    from shared.webhooks._keys import reset_keys
    from shared.webhooks._registry import reset_registry
    from shared.webhooks._secrets import reset_secrets

    reset_connections()
    reset_secrets()
    reset_keys()
    reset_signing_keys()
    reset_registry()


@pytest.fixture
def webhook_env(devstack: OfflineTenant, storage: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Devstack endpoints, the test's own storage names, the seeded app as the Graph app; the account."""
    for name, value in devstack.app_settings().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEBHOOKS_GRAPH_APP_ID", APP_ID)
    monkeypatch.setenv("WEBHOOKS_GRAPH_TENANT_ID", TENANT)
    _reset()
    yield storage
    _reset()
