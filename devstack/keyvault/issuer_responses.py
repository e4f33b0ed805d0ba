"""Key Vault's handlers for certificate issuers and pending operations (merge, cancel, delete).

Issuers are the `certificatecas` data actions (Key Vault Certificates Officer holds them);
merge needs `certificates/create`, cancelling or deleting an operation `certificates/update`
(https://learn.microsoft.com/rest/api/keyvault/certificates/).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.keyvault import rbac
from devstack.keyvault import validation as v
from devstack.keyvault.exceptions import BadParameter
from devstack.keyvault.issuers import IssuerFields
from devstack.keyvault.operations import NO_X5C
from devstack.keyvault.responses import KeyVaultResponses, check_name

_ADMIN_FIELDS = ("first_name", "last_name", "email", "phone")


class IssuerResponses(KeyVaultResponses):
    """Every Key Vault handler: the secret, key and certificate ones plus issuers and operations."""

    # -- issuers ----------------------------------------------------------------------------
    def get_issuer(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.READ_ISSUER, f"certificatecas/{name}")
        return json_response(self.out.issuer(self.backend.issuers.get(name)))

    def list_issuers(self, request: Request) -> Response:
        self._begin(request, rbac.READ_ISSUER, "certificatecas")
        return self._paged(request, [self.out.issuer_item(i) for i in self.backend.issuers.list()])

    def set_issuer(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.WRITE_ISSUER, f"certificatecas/{name}")
        check_name(name)
        fields = _issuer_fields(self._json(request), provider_required=True)
        return json_response(self.out.issuer(self.backend.issuers.set(name, fields)))

    def update_issuer(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.WRITE_ISSUER, f"certificatecas/{name}")
        fields = _issuer_fields(self._json(request), provider_required=False)
        return json_response(self.out.issuer(self.backend.issuers.update(name, fields)))

    def delete_issuer(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.DELETE_ISSUER, f"certificatecas/{name}")
        return json_response(self.out.issuer(self.backend.issuers.delete(name)))

    # -- pending operations -----------------------------------------------------------------
    def merge_certificate(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.CREATE_CERTIFICATE, f"certificates/{name}")
        body = self._json(request)
        x5c = body.get("x5c")
        if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) and c for c in x5c):
            raise BadParameter(NO_X5C)
        tags = v.tags(body)
        v.attributes(body)
        cv = self.backend.operations.merge(name, x5c, tags)
        return json_response(self.out.certificate(cv), 201)

    def update_pending(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.UPDATE_CERTIFICATE, f"certificates/{name}")
        body = self._json(request)
        if v.boolean(body, "cancellation_requested", False):
            op = self.backend.operations.cancel(name)
        else:
            op = self.backend.operations.current(name)
        return json_response(self.out.operation(op), headers=self._retry_after(op))

    def delete_pending(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.UPDATE_CERTIFICATE, f"certificates/{name}")
        return json_response(self.out.operation(self.backend.operations.delete(name)))


def _issuer_fields(body: dict[str, Any], *, provider_required: bool) -> IssuerFields:
    credentials = v.obj(body, "credentials")
    org = v.obj(body, "org_details")
    attributes = v.obj(body, "attributes")
    return IssuerFields(
        provider=v.string(body, "provider", required=provider_required, max_length=127),
        account_id=v.string(credentials, "account_id", max_length=1024),
        password=v.string(credentials, "pwd", max_length=1024),
        organization_id=v.string(org, "id", max_length=1024),
        admin_details=_admin_details(org),
        enabled=None if attributes.get("enabled") is None else v.boolean(attributes, "enabled", True),
    )


def _admin_details(org: dict[str, Any]) -> list[dict[str, str]] | None:
    value = org.get("admin_details")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise BadParameter("Property 'admin_details' must be an array of objects.")
    details = []
    for admin in value:
        fields = {k: v.string(admin, k, max_length=256) for k in _ADMIN_FIELDS}
        details.append({k: s for k, s in fields.items() if s is not None})
    return details
