"""Fixtures for the Graph client tests: a client on the devstack Graph over TLS, clean faults and counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.graph import GraphClient
from tests.app.graph.support import app_token, set_throttling
from tests.app_env import clear_faults, reset_counts
from tests.conftest import tls_session


@pytest.fixture(autouse=True)
def _clean_graph(devstack: OfflineTenant) -> Iterator[None]:
    clear_faults(devstack)
    reset_counts(devstack)
    set_throttling(devstack)  # the default model, buckets refilled
    yield
    clear_faults(devstack)
    set_throttling(devstack)


@pytest.fixture
def graph(devstack: OfflineTenant, ca_bundle: str) -> Iterator[GraphClient]:
    """A client with the seeded app's Graph token, on a session that trusts only the devstack CA."""
    token = app_token(devstack)
    with tls_session(ca_bundle) as session:
        yield GraphClient(token=lambda: token, base_url=devstack.state()["graphUrl"], session=session)
