"""The device authorization grant (RFC 8628) as Entra serves it, for msal public clients.

    POST /{tenant}/oauth2/v2.0/devicecode   client_id, scope -> device_code, user_code, ...
    POST /{tenant}/oauth2/v2.0/token        grant_type=urn:ietf:params:oauth:grant-type:device_code
                                            -> authorization_pending until the user signs in
    POST /_devstack/devicecode              {"userCode", "user", "deny"?}: the user "signs in"

No browser: the control endpoint stands in for the person who opens the verification page and
types the code. Tokens are for the API the scopes name, in its `accessTokenAcceptedVersion`,
with the user's `scp` (consented for the client) and the app roles assigned to the user.
ROPC (username + password) stays unsupported: it breaks with MFA and Conditional Access.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devstack.entra import exceptions as e
from devstack.tenant.pki import b64url
from devstack.tenant.tokens import CLIENT_AUTH_PUBLIC

if TYPE_CHECKING:
    from devstack.entra.models import EntraBackend, TokenRequest

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
VERIFICATION_URI = "https://microsoft.com/devicelogin"
EXPIRES_IN_S = 900
INTERVAL_S = 5
_USER_CODE_ALPHABET = string.ascii_uppercase + string.digits


class AuthorizationPending(e.AadstsError):
    """The user has not signed in yet: keep polling."""

    error = "authorization_pending"
    code = 70016

    def __init__(self) -> None:
        super().__init__("OAuth 2.0 device flow error. Authorization is pending. Continue polling.")


class DeviceCodeExpired(e.AadstsError):
    """The device code is older than `expires_in`."""

    error = "expired_token"
    code = 70020

    def __init__(self) -> None:
        super().__init__(
            "The provided value for the input parameter 'device_code' is not valid. "
            "This device code has expired."
        )


class AuthorizationDeclined(e.AadstsError):
    """The user declined the sign-in (≈ text)."""

    error = "authorization_declined"
    code = 70000

    def __init__(self) -> None:
        super().__init__("The user has declined to authorize the application.")


class BadDeviceCode(e.AadstsError):
    """A device code this tenant never issued (≈ text)."""

    error = "invalid_grant"
    code = 70000

    def __init__(self) -> None:
        super().__init__("The provided value for the input parameter 'device_code' is not valid.")


class PublicClientRequired(e.AadstsError):
    """A confidential client tried to redeem a device code without a credential."""

    error = "invalid_client"
    status = 401
    code = 7000218

    def __init__(self) -> None:
        super().__init__(
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
        )


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    user: str | None = None  # object id once approved
    declined: bool = False


class DeviceFlows:
    """Pending device codes of one tenant; thread-safe (the server is threaded)."""

    def __init__(self, backend: EntraBackend) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._by_device: dict[str, DeviceGrant] = {}
        self._by_user: dict[str, DeviceGrant] = {}

    def start(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        """`/devicecode`: a new device code for a known client and a well-formed scope."""
        self.backend.resolve_tenant(tenant)
        client_id = form.get("client_id") or ""
        if not client_id:
            raise e.MissingParameter("client_id")
        app = self.backend.tenant.app(client_id)
        if app is None:
            raise e.ApplicationNotFound(client_id, self.backend.tenant.tenant_id)
        scope = form.get("scope") or ""
        if not scope:
            raise e.MissingParameter("scope")
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        grant = DeviceGrant(
            device_code=secrets.token_urlsafe(48),
            user_code=user_code,
            client_id=app.app_id,
            scope=scope,
            expires_at=time.time() + EXPIRES_IN_S,
        )
        with self._lock:
            self._by_device[grant.device_code] = grant
            self._by_user[user_code] = grant
        return {
            "user_code": user_code,
            "device_code": grant.device_code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": EXPIRES_IN_S,
            "interval": INTERVAL_S,
            "message": (
                f"To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the code "
                f"{user_code} to authenticate."
            ),
        }

    def approve(self, user_code: str, user_key: str, *, deny: bool = False) -> bool:
        """The user signs in (or declines) for `user_code`; False if the code or user is unknown."""
        user = self.backend.tenant.user(user_key)
        with self._lock:
            grant = self._by_user.get(user_code.upper())
            if grant is None or user is None:
                return False
            grant.user = user.object_id
            grant.declined = deny
        return True

    def redeem(self, req: TokenRequest) -> dict[str, Any]:
        """The token endpoint's device code grant: pending, expired, declined or the tokens."""
        device_code = req.form.get("device_code") or ""
        if not device_code:
            raise e.MissingParameter("device_code")
        with self._lock:
            grant = self._by_device.get(device_code)
        client_id = req.form.get("client_id") or ""
        if grant is None or grant.client_id.lower() != client_id.lower():
            raise BadDeviceCode()
        app = self.backend.tenant.app(grant.client_id)
        assert app is not None
        if not app.public_client and not (req.form.get("client_secret") or req.form.get("client_assertion")):
            raise PublicClientRequired()
        if time.time() > grant.expires_at:
            raise DeviceCodeExpired()
        if grant.user is None:
            raise AuthorizationPending()
        with self._lock:  # a device code is redeemed once
            self._by_device.pop(device_code, None)
            self._by_user.pop(grant.user_code, None)
        if grant.declined:
            raise AuthorizationDeclined()
        return self.backend.user_tokens(app, grant.user, grant.scope, client_info=req.form.get("client_info"))


def approve_response_body(flows: DeviceFlows, raw: bytes) -> tuple[dict[str, Any], int]:
    """`POST /_devstack/devicecode` {"userCode", "user", "deny"?} -> (body, status)."""
    try:
        spec = json.loads(raw or b"{}")
        user_code, user = str(spec["userCode"]), str(spec["user"])
        deny = bool(spec.get("deny", False))
    except (ValueError, TypeError, KeyError, AttributeError):
        return {"error": 'expected {"userCode": "...", "user": "<upn or object id>"}'}, 400
    if not flows.approve(user_code, user, deny=deny):
        return {"error": "no such pending user code or user"}, 404
    return {"userCode": user_code.upper(), "approved": not deny}, 200


def client_info(object_id: str, tenant_id: str) -> str:
    return b64url(json.dumps({"uid": object_id, "utid": tenant_id}).encode())


__all__ = ["CLIENT_AUTH_PUBLIC", "DEVICE_CODE_GRANT", "DeviceFlows", "approve_response_body", "client_info"]
