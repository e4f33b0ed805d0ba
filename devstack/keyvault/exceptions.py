"""Key Vault's errors in its own words: one class per error, exact code, status and message.

    KeyVaultError (ServiceError)          {"error": {"code", "message"[, "innererror": {"code"}]}}
    ├── BadParameter                      400
    ├── Unauthorized                      401 + WWW-Authenticate challenge
    │   ├── MissingToken                  AKV10000
    │   ├── InvalidAudience               AKV10022
    │   ├── InvalidIssuer                 AKV10032
    │   ├── UnresolvedSigningKey          AKV10046
    │   ├── MalformedToken                [BearerReadAccessTokenFailed] S2S12005
    │   └── TokenExpired                  [TokenExpired] S2S12086
    ├── ForbiddenByRbac                   403 Forbidden / innererror ForbiddenByRbac
    ├── SecretNotFound, KeyNotFound       404
    ├── CertificateNotFound               404
    ├── CertificateIssuerNotFound         404 "Issuer not found"
    ├── PendingCertificateNotFound        404 (≈)
    ├── CertificateConflict               409 Conflict: a create while one is in progress (≈)
    └── Throttled                         429 + Retry-After

Texts from Key Vault's answers (docs/identity.md, Key Vault) and from real answers quoted
in public issues (Azure/azure-sdk-for-java,
CDCgov/prime-reportstream #2566 for the expired-token text); `CertificateIssuerNotFound` from
the azure-sdk-for-js recordings of the live service. BadParameter texts are approximations
(the service's exact wording was not confirmed) except the merge ones quoted where raised.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from devstack.core.emulator import ServiceError, json_response, retry_after_header

_RECOVER = (
    "If you recently deleted this {kind} you may be able to recover it using the correct recovery "
    "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
)


class KeyVaultError(ServiceError):
    """Base: renders `{"error": {"code", "message"}}` with the class's status."""

    status = 400
    code = "BadParameter"
    inner_code: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner_code:
            error["innererror"] = {"code": self.inner_code}
        return {"error": error}

    def to_response(self) -> Response:
        return json_response(self.body(), self.status, self.headers())


class BadParameter(KeyVaultError):
    """400: a malformed request (missing api-version, bad JSON, bad algorithm or digest)."""


class Unauthorized(KeyVaultError):
    """401: no acceptable token; every 401 carries the bearer challenge."""

    status = 401
    code = "Unauthorized"

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


class MissingToken(Unauthorized):
    """401 AKV10000: the first request of every client, answered with the challenge."""

    def __init__(self, challenge: str) -> None:
        super().__init__("AKV10000: Request is missing a Bearer or PoP token.", challenge)


class InvalidAudience(Unauthorized):
    """401 AKV10022: a token for another resource (e.g. Microsoft Graph)."""

    def __init__(self, audience: str, challenge: str) -> None:
        super().__init__(
            f"AKV10022: Invalid audience. Expected https://vault.azure.net, found: {audience}.", challenge
        )


class InvalidIssuer(Unauthorized):
    """401 AKV10032: a token from another tenant or authority."""

    def __init__(self, expected: str, found: str, challenge: str) -> None:
        super().__init__(f"AKV10032: Invalid issuer. Expected one of {expected}, found: {found}.", challenge)


class UnresolvedSigningKey(Unauthorized):
    """401 AKV10046: the token's signature does not verify with the tenant's published keys."""

    def __init__(self, encoded_header: str, challenge: str) -> None:
        super().__init__(
            "AKV10046: Unable to resolve the key used for signature validation. "
            f"EncodedJwtHeader: '{encoded_header}'.",
            challenge,
        )


class MalformedToken(Unauthorized):
    """401: a bearer value that is not a JWT at all; the service's S2S text, nothing echoed."""

    def __init__(self, challenge: str) -> None:
        super().__init__("[BearerReadAccessTokenFailed] Error validating token: 'S2S12005'.", challenge)


class TokenExpired(Unauthorized):
    """401: an expired token (the service's S2S text, not an AKV code)."""

    def __init__(self, challenge: str) -> None:
        super().__init__("[TokenExpired] Error validating token: 'S2S12086'.", challenge)


class ForbiddenByRbac(KeyVaultError):
    """403: the caller has no role assignment granting the data action."""

    status = 403
    code = "Forbidden"
    inner_code = "ForbiddenByRbac"

    def __init__(
        self, *, app_id: str, object_id: str, issuer: str, action: str, resource: str, vault: str
    ) -> None:
        super().__init__(
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, "
            "please observe propagation time.\r\n"
            f"Caller: appid={app_id};oid={object_id};iss={issuer}\r\n"
            f"Action: '{action}'\r\n"
            f"Resource: '{resource}'\r\n"
            "Assignment: (not found)\r\n"
            "DenyAssignmentId: null\r\n"
            "DecisionReason: null \r\n"
            f"Vault: {vault};location=westeurope\r\n"
        )
        self.action = action


class SecretNotFound(KeyVaultError):
    """404: no secret (or no such version) by that name."""

    status = 404
    code = "SecretNotFound"

    def __init__(self, name: str) -> None:
        recover = _RECOVER.format(kind="secret")
        super().__init__(f"A secret with (name/id) {name} was not found in this key vault. {recover}")


class KeyNotFound(KeyVaultError):
    """404: no key (or no such version) by that name."""

    status = 404
    code = "KeyNotFound"

    def __init__(self, name: str) -> None:
        recover = _RECOVER.format(kind="key")
        super().__init__(f"A key with (name/id) {name} was not found in this key vault. {recover}")


class CertificateNotFound(KeyVaultError):
    """404: no certificate (or no such version) by that name."""

    status = 404
    code = "CertificateNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"Certificate not found: {name}")


class CertificateIssuerNotFound(KeyVaultError):
    """404: no issuer object by that name (get, update, delete, or a create naming it)."""

    status = 404
    code = "CertificateIssuerNotFound"

    def __init__(self) -> None:
        super().__init__("Issuer not found")


class PendingCertificateNotFound(KeyVaultError):
    """404 (≈): a merge or a cancellation with no operation in progress for the certificate."""

    status = 404
    code = "PendingCertificateNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"Pending certificate not found: {name}")


class CertificateConflict(KeyVaultError):
    """409 (≈): a create while the certificate's previous create is still in progress."""

    status = 409
    code = "Conflict"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Certificate {name} is currently being created. "
            "Wait for the pending operation to finish, or cancel or delete it, and try again."
        )


class Throttled(KeyVaultError):
    """429: the vault's request limit; carries Retry-After when known."""

    status = 429
    code = "Throttled"

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__(
            "Request was not processed because too many requests were received. "
            "Reason: VaultRequestTypeLimitReached"
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return retry_after_header(self.retry_after)
