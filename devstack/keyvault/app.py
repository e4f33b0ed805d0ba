"""The Key Vault emulator: wires routes, auth, model and control endpoints onto the base Emulator."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import Emulator, json_response, retry_after_header
from devstack.keyvault.auth import Gatekeeper
from devstack.keyvault.control import Control
from devstack.keyvault.exceptions import BadParameter, KeyVaultError, Throttled
from devstack.keyvault.issuer_responses import IssuerResponses
from devstack.keyvault.models import KeyVaultBackend
from devstack.keyvault.serialize import Serializer
from devstack.keyvault.urls import url_paths
from devstack.tenant.models import Tenant
from devstack.tenant.seed import load_seed

_FAULT_CODES = {
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class KeyVaultEmulator(Emulator):
    """One vault of the offline tenant, served at `tenant.extra["urls"]["keyvault"]`."""

    name = "keyvault"

    def __init__(self, tenant: Tenant, vault_url: str) -> None:
        super().__init__()
        seed = load_seed()
        vault_name = "kv-" + (tenant.function_app_name or "func-devstack").removeprefix("func-")
        self.backend = KeyVaultBackend(tenant)
        self.gate = Gatekeeper(
            tenant,
            subscription_id=str(seed.get("subscriptionId", "")),
            resource_group=str(seed.get("resourceGroup", "")),
            vault_name=vault_name,
        )
        serializer = Serializer(vault_url)
        self._control_endpoints = Control(self.backend, serializer)
        self.responses = IssuerResponses(self.backend, self.gate, serializer)
        for path, operation, handler, methods in url_paths(self.responses):
            self.route(path, operation, handler, methods)

    def fault_response(self, status: int, retry_after: float | None, request: Request) -> Response:
        """Injected faults in Key Vault's words: 429 is `Throttled`, 5xx the gateway's codes."""
        if status == 429:
            return Throttled(retry_after).to_response()
        error = KeyVaultError(f"devstack injected fault {status}")
        error.status = status
        error.code = _FAULT_CODES.get(status, "InjectedFault")
        return json_response(error.body(), status, retry_after_header(retry_after))

    def http_error(self, status: int, detail: str) -> Response:
        """Unreadable requests in Key Vault's shape; a 400 is its `BadParameter`."""
        if status != 400:
            return super().http_error(status, detail)
        return BadParameter(detail).to_response()

    def not_found(self, request: Request) -> Response:
        """Unknown paths: the challenge first (as for any vault path), then a 404 BadParameter."""
        try:
            self.gate.authenticate(request)
        except KeyVaultError as exc:
            return exc.to_response()
        return json_response({"error": {"code": "BadParameter", "message": "Unsupported request path."}}, 404)

    def control(self, request: Request) -> Response:
        return self._control_endpoints(request)
