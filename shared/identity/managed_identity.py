"""The function app's managed identity, from the App Service identity endpoint.

We call the endpoint ourselves (a plain GET, protocol 2019-08-01) instead of going through
msal's or azure-identity's managed identity clients: those retry a persistent 500/429 for
about 5 s and then report "configuration not found", so an outage reads as a
misconfiguration (docs/identity.md, "Managed identity"). Here the real status decides:
5xx/429/timeouts are retried within the deadline (honouring Retry-After, capped) and then
reported as an outage with that status; a 400 "No User Assigned ... Identity found" is a
misconfiguration naming the setting that chose the identity.

A user-assigned identity is chosen by client id, object (principal) id or resource id
(`client_id=`, `object_id=`, `mi_res_id=`). This class keeps no tokens: the connection does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from shared import boundary
from shared.config import CredentialKind, ManagedIdentitySettings, get_settings
from shared.errors import ConfigurationError, CredentialError
from shared.http import RETRYABLE_STATUSES, current_deadline, retry_after_seconds, session, wait_for_retry
from shared.identity._token import Token

log = logging.getLogger(__name__)

API_VERSION = "2019-08-01"


def resource_of(scope: str) -> str:
    """The identity endpoint wants a resource, not a scope: drop `/.default`."""
    return scope.removesuffix("/.default")


class ManagedIdentityCredential:
    """Tokens for any resource as the app's system- or user-assigned identity (chosen explicitly)."""

    kind = CredentialKind.MANAGED_IDENTITY

    def __init__(self, identity: ManagedIdentitySettings, connection: str = "") -> None:
        self.identity = identity
        self.connection = connection

    def facts_fields(self) -> dict[str, object]:
        return {}

    def fetch(self, scope: str) -> Token:
        """One token from the endpoint, retried on an outage within the current deadline."""
        endpoint = get_settings().identity_endpoint
        if endpoint is None:
            raise ConfigurationError(
                "No managed identity endpoint: IDENTITY_ENDPOINT and IDENTITY_HEADER are not set.",
                step=boundary.STEP_IDENTITY,
                hint=(
                    "Enable a system- or user-assigned identity on the function app (App Service sets these "
                    "variables); locally, start the devstack."
                ),
            )
        resource = resource_of(scope)
        params = {"api-version": API_VERSION, "resource": resource, **self.identity.query()}
        headers = {"X-IDENTITY-HEADER": endpoint.header, "Metadata": "true"}
        ctx = boundary.Context(
            connection=self.connection,
            identity=self.identity.describe(),
            identity_setting=self.identity.setting,
            identity_id_kind=self.identity.id_kind.words if self.identity.id_kind else None,
            resource=resource,
        )
        deadline = current_deadline()
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                with boundary.mapped(boundary.STEP_IDENTITY, ctx):
                    response = session().get(
                        endpoint.url, params=params, headers=headers, timeout=deadline.timeout()
                    )
            except CredentialError as exc:
                if not exc.outage or not wait_for_retry(deadline, attempt, None):
                    raise
                error: CredentialError = exc
            else:
                if response.status_code == 200:
                    return _parse(_json(response))
                error = boundary.identity_response_error(response.status_code, response.text, ctx)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if not wait_for_retry(deadline, attempt, retry_after):
                    raise error
            log.warning(
                "Managed identity endpoint attempt %d for %s failed (%s); retrying within the deadline",
                attempt + 1,
                resource,
                error.status or type(error).__name__,
            )
            attempt += 1


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _parse(body: Any) -> Token:
    """`access_token` and `expires_on` (epoch seconds, sent as a string) from the endpoint's answer."""
    if isinstance(body, dict) and isinstance(body.get("access_token"), str):
        expires_raw = str(body.get("expires_on", "")).strip()
        if expires_raw.isdigit():
            return Token.of(body["access_token"], int(expires_raw))
        expires_in = str(body.get("expires_in", "")).strip()
        if expires_in.isdigit():
            return Token.of(body["access_token"], int(time.time()) + int(expires_in))
    raise CredentialError(
        "The managed identity endpoint answered 200 without a readable token (access_token, expires_on).",
        step=boundary.STEP_IDENTITY,
        status=200,
    )
