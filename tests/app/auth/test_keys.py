"""The signing-key cache: keys by kid from the OpenID configuration, refreshed daily and on an unknown
kid at most once a minute, rollover picked up, outages survived."""

from __future__ import annotations

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.auth import InvalidTokenError, KeysUnavailableError, SigningKeys, TokenPolicy, validate
from tests import caller_tokens as ct
from tests.app.auth.support import CountingFetch


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _policy(keys: SigningKeys, tenant_id: str) -> TokenPolicy:
    return TokenPolicy(keys, frozenset({ct.API_APP}), frozenset({tenant_id}))


def test_keys_come_from_the_openid_configuration(
    authority: str, tenant_id: str, fetch: CountingFetch
) -> None:
    """The first look-up reads the v2 OpenID configuration, then its jwks_uri; nothing else."""
    keys = SigningKeys(authority, tenant_id, fetch=fetch)
    with pytest.raises(InvalidTokenError):
        keys.key("no-such-kid")
    assert fetch.urls == [
        f"{authority}/{tenant_id}/v2.0/.well-known/openid-configuration",
        f"{authority}/{tenant_id}/discovery/v2.0/keys",
    ]


def test_unknown_kids_refetch_at_most_once_a_minute(
    authority: str, tenant_id: str, fetch: CountingFetch, v2_user_token: str
) -> None:
    """A flood of unknown kids costs one JWKS request a minute; a known kid none."""
    clock = Clock()
    keys = SigningKeys(authority, tenant_id, fetch=fetch, clock=clock)
    policy = _policy(keys, tenant_id)
    validate(v2_user_token, policy)
    after_cold = len(fetch.urls)
    for i in range(50):
        clock.now += 0.5
        with pytest.raises(InvalidTokenError):
            keys.key(f"forged-{i}")
    assert len(fetch.urls) == after_cold  # 25 s: still inside the first minute
    clock.now += 40
    with pytest.raises(InvalidTokenError):
        keys.key("forged-late")
    assert len(fetch.urls) == after_cold + 1
    validate(v2_user_token, policy)
    assert len(fetch.urls) == after_cold + 1


def test_rollover_is_picked_up_on_the_new_kid(
    devstack: OfflineTenant, authority: str, tenant_id: str, ca_bundle: str, fetch: CountingFetch
) -> None:
    """After Entra rolls its key, a token under the new kid refetches the JWKS and is accepted."""
    clock = Clock()
    keys = SigningKeys(authority, tenant_id, fetch=fetch, clock=clock)
    policy = _policy(keys, tenant_id)
    validate(ct.user_token(authority, tenant_id, ca_bundle, ct.ADELE), policy)
    with ct._http(ca_bundle) as http:
        new_kid = http.post(f"{authority}/_devstack/keys/rotate", timeout=10).json()["kid"]
    token = ct.user_token(authority, tenant_id, ca_bundle, ct.ALEX, fresh=True)
    assert ct.header(token)["kid"] == new_kid
    clock.now += 61
    assert validate(token, policy)["upn"] == ct.ALEX


def test_keys_are_refreshed_daily(
    authority: str, tenant_id: str, fetch: CountingFetch, v2_user_token: str
) -> None:
    """A day after the last read, the next validation reads the configuration and JWKS again."""
    clock = Clock()
    keys = SigningKeys(authority, tenant_id, fetch=fetch, clock=clock)
    policy = _policy(keys, tenant_id)
    validate(v2_user_token, policy)
    cold = len(fetch.urls)
    clock.now += 23 * 3600
    validate(v2_user_token, policy)
    assert len(fetch.urls) == cold
    clock.now += 3600
    validate(v2_user_token, policy)
    assert len(fetch.urls) > cold


def test_an_outage_keeps_the_keys_read_before(
    authority: str, tenant_id: str, fetch: CountingFetch, v2_user_token: str
) -> None:
    """When the daily refresh fails, the cached keys keep validating; with none cached, it is an outage."""
    clock = Clock()
    calls = {"fail": False}

    def flaky(url: str):  # type: ignore[no-untyped-def]
        if calls["fail"]:
            raise KeysUnavailableError()
        return fetch(url)

    keys = SigningKeys(authority, tenant_id, fetch=flaky, clock=clock)
    validate(v2_user_token, _policy(keys, tenant_id))
    calls["fail"] = True
    clock.now += 25 * 3600
    assert validate(v2_user_token, _policy(keys, tenant_id))["tid"] == tenant_id
    empty = SigningKeys(authority, tenant_id, fetch=flaky, clock=clock)
    with pytest.raises(KeysUnavailableError) as caught:
        empty.key("any")
    assert caught.value.outage
