"""Microsoft Graph's errors, one class each, with Graph's exact code, status and message.

    ServiceError (devstack.core.emulator)
    └── GraphError                      {"error": {"code", "message", "innerError"}}
        ├── InvalidAuthenticationToken  401 (missing, expired, wrong audience, bad signature)
        ├── AuthenticationMissingOrMalformed 401 an addKey/removeKey proof that does not verify
        ├── AuthorizationRequestDenied  403 missing app role or delegated scope
        ├── ResourceNotFound            404 Request_ResourceNotFound
        ├── UnsupportedQuery            400 Request_UnsupportedQuery ($top bounds, $filter clauses)
        ├── RequestBadRequest           400 Request_BadRequest ($select, $count, write validation)
        ├── BadRequest                  400 BadRequest (malformed body, /me with an app token, $batch)
        │   └── UnknownProperty         400 a write names a property the type does not have
        ├── TooManyRequests             429 with Retry-After
        ├── ServiceNotAvailable         503 with Retry-After
        ├── ExtensionError              400 subscription lifetime too long
        ├── InvalidRequest              400 subscription validation failed, bad subscription fields
        └── ValidationError             400 subscription validation timed out

Texts marked "≈" in a docstring are close to Graph's but not confirmed word for word.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import ServiceError

JSON = "application/json; charset=utf-8"


def request_id(request: Request | None) -> str:
    """The id Graph gives each request (header and error body agree); set once per request."""
    if request is None:
        return str(uuid.uuid4())
    rid: str = request.environ.setdefault("devstack.graph.request_id", str(uuid.uuid4()))
    return rid


class GraphError(ServiceError):
    """Base: renders Graph's error body; `headers` are added to the response (Retry-After, ...)."""

    code = "generalException"
    status = 500

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})

    def body(self, request: Request | None = None) -> dict[str, object]:
        # Graph echoes the caller's client-request-id, or reuses its own request id.
        client_request_id = (request.headers.get("client-request-id") if request else None) or request_id(
            request
        )
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id(request),
                    "client-request-id": client_request_id,
                },
            }
        }

    def to_response(self, request: Request | None = None) -> Response:
        return Response(
            json.dumps(self.body(request)), status=self.status, headers=self.headers, content_type=JSON
        )


class InvalidAuthenticationToken(GraphError):
    """401: the bearer token is missing, expired, for another audience or not signed by the tenant."""

    code = "InvalidAuthenticationToken"
    status = 401


class AuthenticationMissingOrMalformed(GraphError):
    """401: the proof-of-possession JWT of addKey/removeKey is missing, unsigned by a current key of
    the app, for another audience or issuer, or lives longer than 10 minutes (Graph says no more)."""

    code = "Authentication_MissingOrMalformed"
    status = 401

    def __init__(self) -> None:
        super().__init__("Access Token missing or malformed.")


class AuthorizationRequestDenied(GraphError):
    """403: the token lacks every app role (or delegated scope) the operation accepts."""

    code = "Authorization_RequestDenied"
    status = 403

    def __init__(self) -> None:
        super().__init__("Insufficient privileges to complete the operation.")


class ResourceNotFound(GraphError):
    """404 for a directory object id (or appId, or UPN) that does not exist."""

    code = "Request_ResourceNotFound"
    status = 404

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Resource '{key}' does not exist or one of its queried "
            "reference-property objects are not present."
        )


class UnsupportedQuery(GraphError):
    """400 for `$top` out of 1-999 and for `$filter` clauses Graph does not support."""

    code = "Request_UnsupportedQuery"
    status = 400

    @classmethod
    def page_size(cls, raw: str) -> UnsupportedQuery:
        return cls(f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.")

    @classmethod
    def filter_property(cls, prop: str, resource: str) -> UnsupportedQuery:
        return cls(
            f"Unsupported or invalid query filter clause specified for property '{prop}' "
            f"of resource '{resource}'."
        )


class RequestBadRequest(GraphError):
    """400 for an unknown `$select` property, or `$count` without `ConsistencyLevel: eventual`."""

    code = "Request_BadRequest"
    status = 400

    @classmethod
    def unknown_property(cls, prop: str, type_name: str) -> RequestBadRequest:
        return cls(f"Could not find a property named '{prop}' on type '{type_name}'.")

    @classmethod
    def count_unsupported(cls) -> RequestBadRequest:
        return cls("$count is not currently supported.")

    @classmethod
    def required(cls, prop: str) -> RequestBadRequest:
        return cls(f"Property '{prop}' value is required but is empty or missing.")

    @classmethod
    def invalid_value(cls, prop: str, resource: str) -> RequestBadRequest:
        return cls(f"Invalid value specified for property '{prop}' of resource '{resource}'.")

    @classmethod
    def duplicate(cls, prop: str) -> RequestBadRequest:
        return cls(f"Another object with the same value for property {prop} already exists.")

    @classmethod
    def members_exist(cls) -> RequestBadRequest:
        return cls(
            "One or more added object references already exist for the following modified properties: "
            "'members'."
        )


class BadRequest(GraphError):
    """400 for malformed requests; ≈ for the `$batch` limit and `$filter` syntax texts."""

    code = "BadRequest"
    status = 400

    @classmethod
    def me_needs_delegated(cls) -> BadRequest:
        return cls("/me request is only valid with delegated authentication flow.")

    @classmethod
    def batch_too_large(cls) -> BadRequest:
        return cls("Too many requests in the batch. Maximum number of requests in a batch is 20.")

    @classmethod
    def filter_syntax(cls, text: str) -> BadRequest:
        return cls(f"Invalid filter clause: syntax error in '{text}'.")


class UnknownProperty(BadRequest):
    """400: a write body names a property its type does not define (OData's text)."""

    def __init__(self, prop: str, type_name: str) -> None:
        super().__init__(
            f"The property '{prop}' does not exist on type '{type_name}'. Make sure to only use "
            "property names that are defined by the type or mark the type as open type."
        )


class TooManyRequests(GraphError):
    """429: throttled; Graph's documented body, with Retry-After in seconds."""

    code = "TooManyRequests"
    status = 429

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        super().__init__("Please retry again later.", headers)


class ServiceNotAvailable(GraphError):
    """503: the service is busy or down; clients retry after Retry-After."""

    code = "serviceNotAvailable"
    status = 503

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        super().__init__("Service Unavailable", headers)


class ExtensionError(GraphError):
    """400: a subscription's expiration is further away than its resource allows."""

    code = "ExtensionError"
    status = 400

    @classmethod
    def too_long(cls, max_minutes: int) -> ExtensionError:
        return cls(f"Subscription expiration can only be {max_minutes} minutes in the future.")


class InvalidRequest(GraphError):
    """400: the notification endpoint failed validation, or a subscription field is invalid (≈)."""

    code = "InvalidRequest"
    status = 400

    @classmethod
    def validation_failed(cls) -> InvalidRequest:
        return cls(
            "Subscription validation request failed. "
            "Notification endpoint must respond with 200 OK to validation request."
        )


class ValidationError(GraphError):
    """400: the notification endpoint did not answer the validation request within 10 seconds."""

    code = "ValidationError"
    status = 400

    @classmethod
    def timed_out(cls) -> ValidationError:
        return cls("Subscription validation request timed out.")
