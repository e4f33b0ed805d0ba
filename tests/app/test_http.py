"""shared/http.py: Retry-After in both forms, the retryable statuses, deadlines that nest, sessions."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared.config import reset_settings
from shared.http import (
    RETRYABLE_STATUSES,
    Deadline,
    backoff_delay,
    connection_verify,
    current_deadline,
    deadline_scope,
    new_session,
    reset_session,
    retry_after_seconds,
    session,
    wait_for_retry,
)


@pytest.fixture(autouse=True)
def _settings() -> None:
    reset_settings()


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("0.25", 0.25), ("-4", 0.0), ("0", 0.0)])
def test_retry_after_in_seconds_with_decimals(value: str, seconds: float) -> None:
    """Retry-After as (decimal) seconds is read as is; a negative value means now."""
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    """Retry-After as an HTTP-date is the seconds from now until then."""
    value = email.utils.formatdate(time.time() + 30, usegmt=True)
    found = retry_after_seconds(value)
    assert found is not None
    assert 28 <= found <= 30


def test_retry_after_in_the_past_is_now() -> None:
    """An HTTP-date already past means retry now (0), not a negative wait."""
    assert retry_after_seconds(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "Mon, 99 Foo 2026"])
def test_missing_or_unreadable_retry_after_is_none(value: str | None) -> None:
    """No header, or one that is neither seconds nor a date, gives None (the caller backs off)."""
    assert retry_after_seconds(value) is None


def test_retryable_statuses_are_the_transient_ones() -> None:
    """408, 429, 500, 502, 503 and 504 are retried; nothing else is."""
    assert frozenset({408, 429, 500, 502, 503, 504}) == RETRYABLE_STATUSES


def test_backoff_honours_retry_after_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Retry-After under the cap is waited exactly; above it, the cap (RETRY_AFTER_CAP_SECONDS)."""
    monkeypatch.setenv("RETRY_AFTER_CAP_SECONDS", "4")
    reset_settings()
    assert backoff_delay(0, 2.5) == 2.5
    assert backoff_delay(0, 9.0) == 4.0


def test_backoff_without_retry_after_is_jittered_exponential() -> None:
    """Without Retry-After the wait is 0.25 s x 2^attempt, jittered to between half and all of it."""
    for attempt, base in ((0, 0.25), (1, 0.5), (3, 2.0)):
        for _ in range(20):
            assert base / 2 <= backoff_delay(attempt, None) <= base


def test_wait_for_retry_refuses_a_wait_past_the_deadline() -> None:
    """A wait that would end after the deadline is not started: False, at once."""
    started = time.monotonic()
    assert wait_for_retry(Deadline.after(0.5), 0, 2.0) is False
    assert time.monotonic() - started < 0.1


def test_wait_for_retry_sleeps_a_wait_that_fits() -> None:
    """A wait that fits in the deadline is slept in full and allows the retry."""
    started = time.monotonic()
    assert wait_for_retry(Deadline.after(5), 0, 0.3) is True
    assert time.monotonic() - started >= 0.3


def test_nested_scopes_inherit_the_outer_deadline() -> None:
    """deadline_scope() inside a scope is the same deadline; current_deadline() finds it."""
    with deadline_scope(Deadline.after(1.0)) as outer:
        with deadline_scope() as inner:
            assert inner is outer
            assert current_deadline() is outer
        assert current_deadline() is outer


def test_without_a_scope_each_call_gets_a_fresh_default_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside any scope, current_deadline() is a new TOKEN_DEADLINE_SECONDS deadline."""
    monkeypatch.setenv("TOKEN_DEADLINE_SECONDS", "7")
    reset_settings()
    first = current_deadline()
    assert 6.5 < first.remaining() <= 7
    assert current_deadline() is not first


def test_request_timeouts_never_outlast_the_deadline() -> None:
    """(connect, read) timeouts shrink to what is left of the deadline."""
    assert Deadline.after(100).timeout() == (5.0, 15.0)
    connect, read = Deadline.after(1).timeout()
    assert connect <= 1
    assert read <= 1
    assert Deadline(time.monotonic() - 1).timeout() == (0.05, 0.05)
    assert Deadline(time.monotonic() - 1).expired()


def test_sessions_ignore_the_environment_and_verify_tls(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """new_session() has trust_env off and verifies with REQUESTS_CA_BUNDLE: another CA is refused."""
    import trustme

    other = trustme.CA()
    bundle = f"{tmp_path}/other-ca.pem"
    other.cert_pem.write_to_path(bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", devstack.state()["caBundle"])  # ignored: trust_env is off
    reset_settings()
    session = new_session()
    assert (session.trust_env, session.verify) == (False, bundle)
    with pytest.raises(requests.exceptions.SSLError):
        session.get(devstack.state()["graphUrl"] + "/v1.0/organization", timeout=5)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", devstack.state()["caBundle"])
    reset_settings()
    assert (
        new_session().get(devstack.state()["graphUrl"] + "/v1.0/organization", timeout=5).status_code == 401
    )


def test_without_a_ca_bundle_tls_is_verified_against_the_system_store(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No REQUESTS_CA_BUNDLE means verify=True (the system store), never off: the devstack's own CA
    is then unknown and its TLS refused, by our session and by azure-core's connection_verify."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    reset_settings()
    assert connection_verify() is True
    session = new_session()
    assert session.verify is True
    with pytest.raises(requests.exceptions.SSLError):
        session.get(devstack.state()["graphUrl"] + "/v1.0/organization", timeout=5)


def test_connection_verify_is_the_ca_bundle_when_set(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With REQUESTS_CA_BUNDLE, azure-core clients get that bundle as `connection_verify`."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", devstack.state()["caBundle"])
    reset_settings()
    assert connection_verify() == devstack.state()["caBundle"]


def test_one_pooled_adapter_without_silent_retries_for_both_schemes() -> None:
    """https and http share one adapter: up to 32 pooled connections per host, no urllib3 retries
    (our own retry loop decides, within the deadline)."""
    session = new_session()
    adapter = session.get_adapter("https://graph.microsoft.com/v1.0")
    assert session.get_adapter("http://127.0.0.1:1/") is adapter
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    assert adapter.max_retries.total == 0
    assert adapter.poolmanager.connection_pool_kw["maxsize"] == 32


def test_the_shared_session_is_built_once_and_reset_for_tests() -> None:
    """session() returns one session until reset_session(); resetting twice is harmless."""
    reset_session()
    reset_session()
    try:
        first = session()
        assert session() is first
        reset_session()
        assert session() is not first
    finally:
        reset_session()  # leave no session built from this test's settings


def test_a_deadline_with_time_left_is_not_expired() -> None:
    """A deadline is expired only when nothing is left: with under a second left it still runs."""
    assert not Deadline.after(0.9).expired()
    assert not Deadline.after(60).expired()
    assert Deadline(time.monotonic()).expired()
    assert Deadline(time.monotonic() - 5).remaining() == 0.0


def test_the_jitter_spreads_over_the_whole_band() -> None:
    """Jitter uses all of [half, all] of the backoff: 200 draws reach both ends of it (the chance
    of missing either end of the band by a tenth is below 1e-19)."""
    draws = [backoff_delay(2, None) for _ in range(200)]
    assert min(draws) < 0.6
    assert max(draws) > 0.9
