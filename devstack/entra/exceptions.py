"""Entra ID (AADSTS) errors with the service's exact `error`, code, status and text.

    ServiceError (devstack.core.emulator)
    └── AadstsError                 {"error", "error_description", "error_codes", ...}
        ├── invalid_client (401)    InvalidClientSecret 7000215, CertificateNotRegistered 700027,
        │                           CertificateExpired 700027,
        │                           AssertionSignatureInvalid 700027, AssertionTimeRange 700024,
        │                           AssertionAudienceInvalid 700023, AssertionSubjectMismatch 700021,
        │                           FederatedIssuerNotFound 700211, FederatedAudienceNotFound 700212,
        │                           FederatedSubjectNotFound 700213, ClientCredentialMissing 7000218
        ├── unauthorized_client     ApplicationNotFound 700016
        ├── invalid_request         TenantNotFound 90002, MissingParameter 900144, MalformedJwt 50027,
        │                           PostRequired 900561, MalformedRequest 9002313
        ├── invalid_scope           InvalidScope 70011, DefaultScopeRequired 1002012
        ├── invalid_resource        ResourceNotFound 500011
        ├── invalid_grant           OboSignatureInvalid 50013, OboAudienceMismatch 500131,
        │                           OboExpired 500133, UserNotFound 50034, UserDisabled 50057,
        │                           ConsentRequired 65001
        └── unsupported_grant_type  UnsupportedGrantType 70003

The texts were taken from real answers (Entra's codes:
https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
"""

from __future__ import annotations

import datetime as dt
import uuid

from werkzeug.wrappers import Response

from devstack.core.emulator import ServiceError, json_response

_CERT_CREDENTIALS_DOC = (
    "https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials"
)
NO_CACHE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def entra_error_body(
    error: str, code: int, text: str, correlation_id: str | None = None
) -> dict[str, object]:
    """The body Entra's token endpoint writes for every error."""
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {text} Trace ID: {trace_id} Correlation ID: {correlation_id} "
            f"Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


class AadstsError(ServiceError):
    """An AADSTS error; subclasses fix `error`, `code`, `status` and format `text`."""

    error = "invalid_request"
    code = 0
    status = 400

    def __init__(self, text: str) -> None:
        super().__init__(f"AADSTS{self.code}: {text}")
        self.text = text
        self.correlation_id: str | None = None  # set by the HTTP layer from client-request-id
        self.headers: dict[str, str] = {}

    def to_response(self) -> Response:
        body = entra_error_body(self.error, self.code, self.text, self.correlation_id)
        return json_response(body, self.status, {**NO_CACHE, **self.headers})


class _InvalidClient(AadstsError):
    error = "invalid_client"
    status = 401


class InvalidClientSecret(_InvalidClient):
    """The client secret matches none of the app's current password credentials."""

    code = 7000215

    def __init__(self, app_id: str) -> None:
        super().__init__(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{app_id}'."
        )


class ClientCredentialMissing(_InvalidClient):
    """Neither client_secret nor client_assertion was sent."""

    code = 7000218

    def __init__(self) -> None:
        super().__init__(
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
        )


class CertificateNotRegistered(_InvalidClient):
    """The assertion's certificate (x5t / x5t#S256 / x5c) is not registered or trusted on the app."""

    code = 700027

    def __init__(self, app_id: str, thumbprint: str, reason: str = "The key was not found.") -> None:
        super().__init__(
            "The certificate with identifier used to sign the client assertion is not registered on "
            f"application. [Reason - {reason}, Thumbprint of key used by client: '{thumbprint}', "
            "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys "
            f"for app Id '{app_id}'. Review the documentation at "
            "https://docs.microsoft.com/en-us/graph/deployments before using any of the ways to access.]"
        )


class CertificateExpired(_InvalidClient):
    """The assertion's certificate is registered on the app, but outside its start/end dates.

    Entra's text for it (seen in microsoft/azure-tools-for-java#2785; the `Found key` and the tail
    as in its 50013 answers, microsoftgraph/msgraph-sdk-php#1585).
    """

    code = 700027

    def __init__(self, app_id: str, thumbprint: str, start: dt.datetime, end: dt.datetime) -> None:
        found = f"Start={start:%m/%d/%Y %H:%M:%S}, End={end:%m/%d/%Y %H:%M:%S}"
        super().__init__(
            "Client assertion contains an invalid signature. [Reason - The key used is expired., "
            f"Thumbprint of key used by client: '{thumbprint}', Found key '{found}', "
            "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys "
            f"for app Id '{app_id}'. Review the documentation at "
            "https://docs.microsoft.com/en-us/graph/deployments before using any of the ways to access.]"
        )


class AssertionSignatureInvalid(_InvalidClient):
    """The client assertion's signature does not verify with the certificate it names."""

    code = 700027

    def __init__(self) -> None:
        super().__init__("Client assertion failed signature validation.")


class AssertionTimeRange(_InvalidClient):
    """The client assertion is expired or not yet valid (beyond the allowed clock skew)."""

    code = 700024

    def __init__(self, now: str, nbf: str, exp: str) -> None:
        super().__init__(
            f"Client assertion is not within its valid time range. Current time: {now}, assertion valid "
            f"from {nbf}, expiry time of assertion {exp}. Review the documentation at "
            f"{_CERT_CREDENTIALS_DOC} ."
        )


class AssertionAudienceInvalid(_InvalidClient):
    """The client assertion's `aud` is not this tenant's token endpoint."""

    code = 700023

    def __init__(self) -> None:
        super().__init__(
            "Client assertion audience claim does not match Realm issuer. Review the documentation at "
            f"{_CERT_CREDENTIALS_DOC} ."
        )


class AssertionSubjectMismatch(_InvalidClient):
    """The client assertion's iss/sub is not the client id."""

    code = 700021

    def __init__(self) -> None:
        super().__init__("Client assertion application identifier doesn't match 'client_id' parameter.")


class FederatedIssuerNotFound(_InvalidClient):
    """No federated credential of the app has the assertion's issuer."""

    code = 700211

    def __init__(self, issuer: str) -> None:
        super().__init__(
            f"No matching federated identity record found for presented assertion issuer '{issuer}'. "
            "Please note that the matching is done using a case-sensitive comparison. Check your federated "
            "identity credential Subject, Audience and Issuer against the presented assertion."
        )


class FederatedAudienceNotFound(_InvalidClient):
    """The assertion's audience is not one of the matching federated credential's audiences."""

    code = 700212

    def __init__(self, audience: str) -> None:
        super().__init__(
            f"No matching federated identity record found for presented assertion audience '{audience}'. "
            "Check your federated identity credential Subject, Audience and Issuer against the presented "
            "assertion."
        )


class FederatedSubjectNotFound(_InvalidClient):
    """The issuer matches a federated credential but the subject does not."""

    code = 700213

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"No matching federated identity record found for presented assertion subject '{subject}'. "
            "Check your federated identity credential Subject, Audience and Issuer against the presented "
            "assertion."
        )


class ApplicationNotFound(AadstsError):
    """No app registration with this client id in the tenant."""

    error = "unauthorized_client"
    code = 700016

    def __init__(self, app_id: str, tenant_id: str) -> None:
        super().__init__(
            f"Application with identifier '{app_id}' was not found in the directory '{tenant_id}'. This can "
            "happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You may have sent your authentication request to the "
            "wrong tenant."
        )


class TenantNotFound(AadstsError):
    """The tenant in the URL is neither the tenant id nor its domain."""

    code = 90002

    def __init__(self, tenant: str) -> None:
        super().__init__(
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud. Check with your subscription administrator, this may happen if there "
            "are no active subscriptions for the tenant."
        )


class MissingParameter(AadstsError):
    """A required form parameter is absent."""

    code = 900144

    def __init__(self, name: str) -> None:
        super().__init__(f"The request body must contain the following parameter: '{name}'.")


class PostRequired(AadstsError):
    """The token endpoint was called with another method than POST."""

    code = 900561

    def __init__(self, method: str) -> None:
        super().__init__(f"The endpoint only accepts POST requests. Received a {method} request.")


class MalformedRequest(AadstsError):
    """The request could not be read at all (bad HTTP, a body that is not a form)."""

    code = 9002313

    def __init__(self, status: int = 400) -> None:
        super().__init__("Invalid request. Request is malformed or invalid.")
        self.status = status


class MalformedJwt(AadstsError):
    """An assertion is not a JWT at all."""

    code = 50027

    def __init__(self) -> None:
        super().__init__("JWT token is invalid or malformed.")


class InvalidScope(AadstsError):
    """The scope names nothing Entra can issue for."""

    error = "invalid_scope"
    code = 70011

    def __init__(self, scope: str) -> None:
        super().__init__(
            "The provided value for the input parameter 'scope' is not valid. "
            f"The scope {scope} is not valid."
        )


class DefaultScopeRequired(AadstsError):
    """Client credentials need `<resource>/.default`."""

    error = "invalid_scope"
    code = 1002012

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
            "value with /.default suffixed to the resource identifier (application ID URI)."
        )


class ResourceNotFound(AadstsError):
    """No API with this URI or app id in the tenant."""

    error = "invalid_resource"
    code = 500011

    def __init__(self, resource: str, tenant_name: str) -> None:
        super().__init__(
            f"The resource principal named {resource} was not found in the tenant named {tenant_name}. This "
            "can happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You might have sent your authentication request to "
            "the wrong tenant."
        )


class _InvalidGrant(AadstsError):
    error = "invalid_grant"


class OboSignatureInvalid(_InvalidGrant):
    """The user assertion was not signed by the tenant's key (or is not a token of this tenant)."""

    code = 50013

    def __init__(self, reason: str) -> None:
        super().__init__(f"Assertion failed signature validation. [Reason - {reason}]")


class OboAudienceMismatch(_InvalidGrant):
    """The user assertion is for another API than the app presenting it."""

    code = 500131

    def __init__(self, audience: str, app_id: str) -> None:
        super().__init__(
            f"Assertion audience does not match the Client app presenting the assertion. The audience in the "
            f"assertion was '{audience}' and the expected audience is '{app_id}' or one of the Application "
            f"Uris of this application with App ID '{app_id}'. The downstream client must request a token "
            "for the expected audience (the application that made the OBO request) and this application "
            "should use that token as the assertion."
        )


class OboExpired(_InvalidGrant):
    """The user assertion is expired."""

    code = 500133

    def __init__(self, now: str, exp: str) -> None:
        super().__init__(
            f"Assertion isn't within its valid time range. Ensure that the access token is not expired "
            f"before using it for user assertion, or request a new token. Current time: {now}, expiry time "
            f"of assertion {exp}."
        )


class UserNotFound(_InvalidGrant):
    """The assertion's subject is not a user of the tenant."""

    code = 50034

    def __init__(self, who: str, tenant_name: str) -> None:
        super().__init__(
            f"The user account {who} does not exist in the {tenant_name} directory. To sign into this "
            "application, the account must be added to the directory."
        )


class UserDisabled(_InvalidGrant):
    """The user behind the assertion has `accountEnabled: false`."""

    code = 50057

    def __init__(self) -> None:
        super().__init__("The user account is disabled.")


class ConsentRequired(_InvalidGrant):
    """A delegated scope was asked that no admin consented to for this client."""

    code = 65001

    def __init__(self, app_id: str, app_name: str) -> None:
        super().__init__(
            f"The user or administrator has not consented to use the application with ID '{app_id}' named "
            f"'{app_name}'. Send an interactive authorization request for this user and resource."
        )


class UnsupportedGrantType(AadstsError):
    """A grant type the devstack does not serve (ROPC deliberately among them)."""

    error = "unsupported_grant_type"
    code = 70003

    def __init__(self, grant_type: str) -> None:
        super().__init__(f"The app requested an unsupported grant type '{grant_type}'.")


class TemporarilyUnavailable(AadstsError):
    """An injected outage or throttling, in Entra's body shape."""

    error = "temporarily_unavailable"
    code = 90033

    def __init__(self, status: int) -> None:
        super().__init__("A transient error has occurred. Please try again.")
        self.status = status
