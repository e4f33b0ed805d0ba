"""msal ConfidentialClientApplication plumbing: one app per (authority, client, credential version).

msal holds only the state it must: the app (its constructor GETs the tenant's OpenID
configuration), its `http_cache` (its own throttling replay) and the tokens it gets on behalf
of users (keyed by their assertion: only msal can find them again). App-only tokens are NOT
kept in msal (`_UserTokensOnly`): the connection is their one cache (docs/identity.md, "Tokens").

- `http_client=` is a thin wrapper over the shared session (trust_env=False, explicit CA), so
  `REQUESTS_CA_BUNDLE` from the machine cannot override verification (docs/identity.md, "TLS"),
  every call has a timeout from the current deadline, and we see the real status and
  Retry-After (msal turns a 5xx into an exception and a 429 into a bare result dict).
- After a 5xx/429 the same app replays the cached error for Retry-After (default 5 s)
  seconds. We wait Retry-After (capped) and then clear the app's `http_cache` before retrying,
  so the retry really goes to Entra.
- `instance_discovery=False` only when the authority is an override.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msal
import requests

from shared import boundary
from shared.clouds import Cloud
from shared.errors import CredentialError, IdentityUnavailableError
from shared.http import current_deadline, retry_after_seconds, session, wait_for_retry
from shared.identity._token import SingleFlightCache, Token

log = logging.getLogger(__name__)


class _UserTokensOnly(msal.TokenCache):  # type: ignore[misc]
    """msal's cache without app-only tokens: the connection caches those, once."""

    def add(self, event: Any, now: Any = None) -> None:
        if event.get("grant_type") != "client_credentials":
            super().add(event, now=now)


@dataclass
class _LastResponse:
    status: int | None = None
    retry_after: float | None = None


class _RecordingHttpClient:
    """What msal calls `http_client`: the shared session, a deadline-bound timeout, the last status."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def last(self) -> _LastResponse:
        last: _LastResponse | None = getattr(self._local, "last", None)
        if last is None:
            last = self._local.last = _LastResponse()
        return last

    def forget(self) -> None:
        self._local.last = _LastResponse()

    def _record(self, response: requests.Response) -> requests.Response:
        self._local.last = _LastResponse(
            status=response.status_code, retry_after=retry_after_seconds(response.headers.get("Retry-After"))
        )
        return response

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = current_deadline().timeout()
        return self._record(session().post(url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = current_deadline().timeout()
        return self._record(session().get(url, **kwargs))

    def close(self) -> None:
        """The session is shared; msal must not close it."""


@dataclass
class MsalApp:
    """A ConfidentialClientApplication with its own http cache and recorder."""

    app: msal.ConfidentialClientApplication
    http_cache: dict[str, Any]
    recorder: _RecordingHttpClient


def build_app(
    cloud: Cloud, tenant_id: str, client_id: str, credential: Any, ctx: boundary.Context
) -> MsalApp:
    """Build an app (one discovery GET), retrying an Entra outage within the deadline."""
    recorder = _RecordingHttpClient()
    http_cache: dict[str, Any] = {}
    deadline = current_deadline()
    attempt = 0
    while True:
        recorder.forget()
        try:
            with boundary.mapped(boundary.STEP_ENTRA, ctx):
                app = msal.ConfidentialClientApplication(
                    client_id,
                    client_credential=credential,
                    authority=cloud.authority(tenant_id),
                    instance_discovery=not cloud.authority_overridden,
                    http_client=recorder,
                    http_cache=http_cache,
                    token_cache=_UserTokensOnly(),
                )
            return MsalApp(app=app, http_cache=http_cache, recorder=recorder)
        except (CredentialError, ValueError) as exc:
            # msal reads the tenant's OpenID configuration here and raises when it cannot.
            mapped = boundary.msal_discovery_error(
                exc, status=recorder.last.status, tenant_id=tenant_id, ctx=ctx
            )
            if mapped is None:
                raise
            if not mapped.outage or not wait_for_retry(deadline, attempt, recorder.last.retry_after):
                raise mapped from exc
            http_cache.clear()
            attempt += 1


def acquire(msal_app: MsalApp, scope: str, ctx: boundary.Context) -> Token:
    """A token for `scope` from Entra; its 5xx/429 retried within the deadline."""
    return _acquire_with(msal_app, ctx, lambda app: app.acquire_token_for_client([scope]))


def acquire_on_behalf_of(
    msal_app: MsalApp, user_token: str, scopes: list[str], ctx: boundary.Context
) -> Token:
    """A token for `scopes` as the user whose token `user_token` is (the on-behalf-of flow:
    https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow)."""
    return _acquire_with(msal_app, ctx, lambda app: app.acquire_token_on_behalf_of(user_token, scopes))


def _acquire_with(
    msal_app: MsalApp, ctx: boundary.Context, ask: Callable[[msal.ConfidentialClientApplication], Any]
) -> Token:
    deadline = current_deadline()
    attempt = 0
    while True:
        msal_app.recorder.forget()
        error: CredentialError
        try:
            with boundary.mapped(boundary.STEP_ENTRA, ctx):
                result: dict[str, Any] = ask(msal_app.app) or {}
        except IdentityUnavailableError as exc:  # msal raises on a 5xx
            exc.status = exc.status or msal_app.recorder.last.status
            error = exc
        else:
            if "access_token" in result:
                expires_in = int(result.get("expires_in", 0))
                return Token.of(str(result["access_token"]), int(time.time()) + expires_in)
            error = boundary.msal_result_error(result, status=msal_app.recorder.last.status, ctx=ctx)
        last = msal_app.recorder.last
        if not error.outage or not wait_for_retry(deadline, attempt, last.retry_after):
            raise error
        log.warning("Entra token attempt %d failed (HTTP %s); retrying", attempt + 1, last.status)
        msal_app.http_cache.clear()  # else msal replays the throttled error without calling Entra
        attempt += 1


_apps: SingleFlightCache[tuple[str, ...], MsalApp] = SingleFlightCache(lambda app: True)


def app_for(key: tuple[str, ...], factory: Callable[[], MsalApp]) -> MsalApp:
    """The long-lived app for `key` = (authority, client id, kind, connection, version); built once."""
    return _apps.get(key, factory)


def drop_apps(prefix: tuple[str, ...], keep: tuple[str, ...]) -> None:
    """Forget the apps of older versions (keys starting with `prefix`, other than `keep`)."""
    _apps.discard_where(lambda key: key[: len(prefix)] == prefix and key != keep)


def reset_apps() -> None:
    _apps.clear()
