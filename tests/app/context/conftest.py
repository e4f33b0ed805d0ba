"""The context tests' environment: the app as `make run` configures it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.context._probe import reset_probe_cache
from shared.identity import reset_connections
from tests.app.context.support import sample_connections
from tests.app.jobs.rotation_support import (  # noqa: F401 - fixtures
    http,
    rotating,
    rotation_env,
    secret_env,
    secret_rotating,
)


@pytest.fixture
def app_env(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The app's environment as `make run` sets it: devstack endpoints plus the sample connections."""
    env = {**devstack.app_settings(), **sample_connections()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_connections()
    reset_probe_cache()
    yield env
    reset_connections()
    reset_probe_cache()
