"""The managed identity endpoint's errors, in App Service's own body shape.

ServiceError (devstack.core.emulator)
└── IdentityEndpointError      {"statusCode": N, "message": "..."}
    ├── IdentityHeaderInvalid  401 (text not confirmed against Azure)
    ├── BadRequest             400 api-version / resource / selector problems (text not confirmed)
    ├── IdentityNotFound       400 the identity is not assigned to the app
    └── TokenFetchFailed       500 unknown resource ("occured" is Azure's spelling)
"""

from __future__ import annotations

import uuid

from werkzeug.wrappers import Response

from devstack.core.emulator import ServiceError, json_response


class IdentityEndpointError(ServiceError):
    """An error body as App Service's identity endpoint writes it."""

    status = 400
    message = ""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message

    def body(self) -> dict[str, object]:
        return {"statusCode": self.status, "message": self.message}

    def to_response(self) -> Response:
        return json_response(self.body(), self.status)


class IdentityHeaderInvalid(IdentityEndpointError):
    """`X-IDENTITY-HEADER` is missing or does not match the app's IDENTITY_HEADER."""

    status = 401
    message = "Unauthorized. The X-IDENTITY-HEADER header is missing or invalid."


class BadRequest(IdentityEndpointError):
    """A malformed request: wrong api-version, no resource, more than one identity selector."""

    status = 400


class IdentityNotFound(IdentityEndpointError):
    """The requested user-assigned identity is not assigned to this app (or does not exist)."""

    status = 400
    message = (
        "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."
    )


class TokenFetchFailed(IdentityEndpointError):
    """Entra refused the token request behind the endpoint (e.g. unknown resource): a vague 500."""

    status = 500
    message = "An unexpected error occured while fetching the AAD Token."

    def body(self) -> dict[str, object]:
        return {**super().body(), "correlationId": str(uuid.uuid4())}
