"""Fixtures for caller-token validation: the devstack tenant's keys, a policy, real tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.auth import SigningKeys, TokenPolicy
from tests import caller_tokens as ct
from tests.app.auth.support import CountingFetch


@pytest.fixture
def fetch(ca_bundle: str) -> Iterator[CountingFetch]:
    f = CountingFetch(ca_bundle)
    yield f
    f.session.close()


@pytest.fixture
def authority(devstack: OfflineTenant) -> str:
    return str(devstack.servers["entra"].url)


@pytest.fixture
def tenant_id(devstack: OfflineTenant) -> str:
    return devstack.tenant.tenant_id


@pytest.fixture
def keys(authority: str, tenant_id: str, fetch: CountingFetch) -> SigningKeys:
    return SigningKeys(authority, tenant_id, fetch=fetch)


@pytest.fixture
def policy(keys: SigningKeys, tenant_id: str) -> TokenPolicy:
    return TokenPolicy(
        keys,
        audiences=frozenset({ct.API_APP, f"api://{ct.API_APP}"}),
        tenants=frozenset({tenant_id}),
    )


@pytest.fixture
def v2_user_token(authority: str, tenant_id: str, ca_bundle: str) -> str:
    return ct.user_token(authority, tenant_id, ca_bundle, ct.ADELE)


@pytest.fixture
def v1_api(devstack: OfflineTenant) -> Iterator[None]:
    """The API registration's accessTokenAcceptedVersion set to 1 for the test, then back to 2."""
    app = devstack.tenant.app(ct.API_APP)
    assert app is not None
    app.access_token_version = 1
    try:
        yield
    finally:
        app.access_token_version = 2
