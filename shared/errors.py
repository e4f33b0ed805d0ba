"""The app's exceptions: one root, a small tree.

    AutomationError                  root; every error the app raises on purpose
    ├── ConfigurationError           a setting is missing or malformed (names the setting)
    ├── CredentialError              a connection could not get a token
    │   ├── IdentityUnavailableError the identity endpoint or Entra is down or unreachable (an outage)
    │   └── AuthenticationFailedError Entra, the identity endpoint or Key Vault refused (a misconfiguration)
    ├── KeyVaultError                Key Vault could not give the object asked for
    │   ├── CertificateError         the certificate read is malformed, has no key, or is not valid now
    │   └── CertificatePendingError  Key Vault's issuer has not issued a requested certificate yet
    ├── UpstreamError                another service (Graph, ...) answered with an error
    │   └── GraphError               Microsoft Graph answered with an error, or not at all
    │       └── GraphTimeoutError    the deadline passed before Graph answered (throttled or slow)
    └── StorageError                 Table, Blob or Queue storage refused or failed (shared/storage)

Every error carries `step` (where it happened: "identity-endpoint", "key-vault", "entra",
"graph", "certificate", "configuration", "storage"), `status` (the HTTP status seen, an int,
when there was one), `code` (the service's own code, e.g. "AADSTS700027", "SecretNotFound"),
`aadsts` (Entra's error number as an int, e.g. 700027, when Entra sent one) and `hint` (what to
grant or fix). `outage` is True when retrying later may help (5xx, 429, timeout, refused
connection) and False when a person must change something.

Foreign errors (azure-core, msal result dicts and exceptions, requests) are mapped at one
boundary, `shared/boundary.py`, with ``raise ... from exc``; an exception it does not know is
left alone (a bug to see). Messages say what to do and never carry a token, secret, key or
assertion.
"""

from __future__ import annotations


class AutomationError(Exception):
    """Root of every error the app raises on purpose."""

    default_step = "app"
    outage = False

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        outage: bool | None = None,
        aadsts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.step = step or self.default_step
        self.status = status
        self.code = code
        self.hint = hint
        self.aadsts = aadsts
        if outage is not None:
            self.outage = outage

    def __str__(self) -> str:
        return f"{self.message} Hint: {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, object]:
        """Facts safe to show a caller (problem+json extensions): no token, secret or key."""
        return {
            "type": type(self).__name__,
            "step": self.step,
            "status": self.status,
            "code": self.code,
            "aadsts": self.aadsts,
            "outage": self.outage,
            "message": self.message,
            "hint": self.hint,
        }


class ConfigurationError(AutomationError):
    """A setting is missing or malformed; the message names it and says what is expected."""

    default_step = "configuration"


class CredentialError(AutomationError):
    """A connection could not get a token."""

    default_step = "identity"


class IdentityUnavailableError(CredentialError):
    """An outage: the identity endpoint or Entra answered 5xx/429, timed out or refused the connection."""

    outage = True


class AuthenticationFailedError(CredentialError):
    """A misconfiguration: Entra, the identity endpoint or Key Vault refused; `hint` says what to fix."""


class KeyVaultError(AutomationError):
    """Key Vault could not give the object asked for (missing, forbidden, throttled or down)."""

    default_step = "key-vault"


class CertificateError(KeyVaultError):
    """The certificate material is malformed, lacks its private key, or is expired / not yet valid."""

    default_step = "certificate"


class CertificatePendingError(KeyVaultError):
    """A certificate Key Vault was asked to create is not issued yet: its CA issuer is still working
    on the request, or (issuer `Unknown`) a person must have it signed and merge it. Not a failure:
    Key Vault finishes the request by itself, and a later run picks the certificate up.
    `issuer` names the Key Vault issuer; `details` is Key Vault's own status text."""

    def __init__(
        self, message: str, *, issuer: str = "", details: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, code="CertificatePending", hint=hint)
        self.issuer = issuer
        self.details = details


class UpstreamError(AutomationError):
    """Another service (Graph, ARM, Exchange) answered with an error."""

    default_step = "upstream"


class GraphError(UpstreamError):
    """Microsoft Graph answered with an error (or could not be reached); carries Graph's ids.

    `code` is Graph's error code (`Request_ResourceNotFound`, `Authorization_RequestDenied`, ...);
    `request_id` / `client_request_id` are what Microsoft support asks for; the `throttle_*`
    fields and `resource_unit` are Graph's throttling headers (docs/graph.md). `path` has no
    query string (it may hold personal data) and nothing here ever holds the token.
    """

    default_step = "graph"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        outage: bool | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: float | None = None,
        throttle_scope: str | None = None,
        throttle_information: str | None = None,
        resource_unit: str | None = None,
    ) -> None:
        super().__init__(message, step="graph", status=status, code=code, hint=hint, outage=outage)
        self.method = method
        self.path = path
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        self.throttle_scope = throttle_scope
        self.throttle_information = throttle_information
        self.resource_unit = resource_unit

    def to_dict(self) -> dict[str, object]:
        """The common facts plus Graph's request ids and throttling headers (nothing secret)."""
        return {
            **super().to_dict(),
            "requestId": self.request_id,
            "clientRequestId": self.client_request_id,
            "throttleScope": self.throttle_scope,
            "throttleInformation": self.throttle_information,
            "resourceUnit": self.resource_unit,
        }


class GraphTimeoutError(GraphError):
    """The call's deadline passed (or the next wait would pass it) before Graph answered; an outage."""

    outage = True


class StorageError(AutomationError):
    """Table, Blob or Queue storage refused or failed; `code` is the service's error code."""

    default_step = "storage"
