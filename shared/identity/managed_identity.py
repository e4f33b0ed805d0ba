"""The function app's managed identity, from the App Service identity endpoint.

We call the endpoint ourselves (a plain GET, protocol 2019-08-01) instead of going through
msal's or azure-identity's managed identity clients: those retry a persistent 500/429 for
~4.8 s and then report "configuration not found", so an outage reads as a misconfiguration
(FACTS.md). Here the real status decides: 5xx/429/timeouts are retried within the deadline
(honouring Retry-After, capped) and then reported as an outage with that status; a 400
"No User Assigned ... Identity found" is a misconfiguration with a hint.

Tokens are cached per (identity, resource) for the whole process and shared by every
connection: managed-identity connections, the Key Vault reads, and federated assertions.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from shared.config import ManagedIdentitySettings, get_settings
from shared.errors import ConfigurationError, CredentialError
from shared.http import (
    RETRYABLE_STATUSES,
    Deadline,
    current_deadline,
    retry_after_seconds,
    session,
    wait_for_retry,
)
from shared.identity._errors import STEP_IDENTITY, Context, map_identity_response, map_requests_error
from shared.identity._token_cache import AccessToken, SingleFlightCache, unverified_claims

log = logging.getLogger(__name__)

API_VERSION = "2019-08-01"


def _fresh(token: AccessToken) -> bool:
    return token.fresh(get_settings().timing.token_refresh_margin_s)


_tokens: SingleFlightCache[tuple[str, str], AccessToken] = SingleFlightCache(_fresh)
# Identity (cache key) -> object (principal) id, from the `oid` of the tokens fetched for it.
_object_ids: dict[str, str] = {}


def resource_of(scope: str) -> str:
    """The identity endpoint wants a resource, not a scope: drop `/.default`."""
    return scope.removesuffix("/.default")


def describe_identity(identity: ManagedIdentitySettings) -> str:
    return (
        f"user-assigned identity {identity.client_id}" if identity.client_id else "system-assigned identity"
    )


def known_object_id(identity: ManagedIdentitySettings) -> str | None:
    """The identity's object (principal) id if one of its tokens was fetched; never a network call."""
    return _object_ids.get(identity.cache_key)


def identity_facts(identity: ManagedIdentitySettings) -> dict[str, object]:
    """`{"type": "user"|"system", "clientId", "objectId"}`: objectId None until a token was fetched."""
    return {"type": identity.kind, "clientId": identity.client_id, "objectId": known_object_id(identity)}


class ManagedIdentityCredential:
    """Tokens for any resource as the app's system- or user-assigned identity (chosen explicitly)."""

    kind = "managed-identity"

    def __init__(self, identity: ManagedIdentitySettings, connection: str = "") -> None:
        self.identity = identity
        self._ctx = Context(connection=connection, identity=describe_identity(identity))

    def get_token(self, scope: str, deadline: Deadline | None = None) -> AccessToken:
        """A cached token, or one fetched with one request in flight per (identity, resource)."""
        resource = resource_of(scope)
        return _tokens.get(
            (self.identity.cache_key, resource), lambda: self._fetch(resource, deadline or current_deadline())
        )

    def fetch(self, scope: str, deadline: Deadline) -> AccessToken:
        """Connections keep their own cache; this still goes through the shared one."""
        return self.get_token(scope, deadline)

    def facts(self) -> dict[str, object]:
        return {}

    def _fetch(self, resource: str, deadline: Deadline) -> AccessToken:
        endpoint = get_settings().identity_endpoint
        if endpoint is None:
            raise ConfigurationError(
                "No managed identity endpoint: IDENTITY_ENDPOINT and IDENTITY_HEADER are not set.",
                step=STEP_IDENTITY,
                hint=(
                    "Enable a system- or user-assigned identity on the function app (App Service sets these "
                    "variables); locally, start the devstack."
                ),
            )
        params = {"api-version": API_VERSION, "resource": resource}
        if self.identity.client_id:
            params["client_id"] = self.identity.client_id
        headers = {"X-IDENTITY-HEADER": endpoint.header, "Metadata": "true"}
        ctx = Context(connection=self._ctx.connection, identity=self._ctx.identity, resource=resource)
        attempt = 0
        while True:
            error: CredentialError | Exception
            retry_after: float | None = None
            try:
                response = session().get(
                    endpoint.url, params=params, headers=headers, timeout=deadline.timeout()
                )
            except requests.RequestException as exc:
                mapped = map_requests_error(exc, STEP_IDENTITY, ctx)
                if not mapped.outage:
                    raise mapped from exc
                error = mapped
                cause: Exception | None = exc
            else:
                cause = None
                if response.status_code == 200:
                    token = _parse(response)
                    oid = unverified_claims(token.token).get("oid")
                    if isinstance(oid, str) and oid:
                        _object_ids[self.identity.cache_key] = oid
                    return token
                error = map_identity_response(response.status_code, response.text, ctx)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            log.warning(
                "Managed identity endpoint attempt %d for %s failed (%s); retrying if the deadline allows",
                attempt + 1,
                resource,
                getattr(error, "status", None) or type(error).__name__,
            )
            if not wait_for_retry(deadline, attempt, retry_after):
                if cause is not None:
                    raise error from cause
                raise error
            attempt += 1


def _parse(response: requests.Response) -> AccessToken:
    try:
        body: dict[str, Any] = response.json()
        token = str(body["access_token"])
        expires_raw = body.get("expires_on")
        if expires_raw is not None and str(expires_raw).strip().isdigit():
            expires_on = int(str(expires_raw).strip())
        else:
            expires_on = int(time.time()) + int(body.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialError(
            "The managed identity endpoint answered 200 without a readable token.",
            step=STEP_IDENTITY,
            status=200,
        ) from exc
    return AccessToken(token=token, expires_on=expires_on)


def reset_managed_identity_cache() -> None:
    """Forget every managed identity token and object id (tests)."""
    _tokens.clear()
    _object_ids.clear()
