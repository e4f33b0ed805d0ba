"""The App Service managed identity endpoint (protocol 2019-08-01), plain http as in Azure."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import Emulator, json_response, retry_after_header
from devstack.identity.responses import IdentityResponses
from devstack.identity.urls import url_paths
from devstack.tenant.models import Tenant

__all__ = ["IdentityEmulator", "create_app"]


class IdentityEmulator(Emulator):
    """Answers `GET /msi/token` for the identities assigned to the function app."""

    name = "identity"

    def __init__(self, tenant: Tenant, identity_header: str) -> None:
        super().__init__()
        responses = IdentityResponses(tenant, identity_header)
        for path, operation, handler, methods in url_paths:
            self.route(path, operation, getattr(responses, handler), methods)

    def http_error(self, status: int, detail: str) -> Response:
        """Unreadable requests in the endpoint's own `{"statusCode", "message"}` shape."""
        return json_response({"statusCode": status, "message": detail}, status)

    def fault_response(self, status: int, retry_after: float | None, request: Request) -> Response:
        # Injected outages look like the endpoint's own errors, so clients parse them the same way.
        return json_response(
            {"statusCode": status, "message": f"devstack injected fault {status}"},
            status,
            retry_after_header(retry_after),
        )


def create_app(tenant: Tenant, identity_header: str) -> Emulator:
    return IdentityEmulator(tenant, identity_header)
