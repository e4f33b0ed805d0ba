"""HTTP layer of the identity endpoint: check the header, call the model, serialize."""

from __future__ import annotations

import hmac

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.identity import models
from devstack.identity.exceptions import IdentityHeaderInvalid
from devstack.tenant.models import Tenant


class IdentityResponses:
    def __init__(self, tenant: Tenant, identity_header: str) -> None:
        self.tenant = tenant
        self._header = identity_header

    def get_token(self, request: Request) -> Response:
        presented = request.headers.get("X-IDENTITY-HEADER", "")
        if not hmac.compare_digest(presented.encode(), self._header.encode()):
            raise IdentityHeaderInvalid()
        q = request.args
        token = models.issue_token(
            self.tenant,
            api_version=q.get("api-version"),
            resource=q.get("resource"),
            client_id=q.get("client_id"),
            object_id=q.get("object_id") or q.get("principal_id"),
            mi_res_id=q.get("mi_res_id"),
        )
        return json_response(
            {
                "access_token": token.access_token,
                # App Service sends epoch seconds as a string; SDKs parse it with int().
                "expires_on": str(token.expires_on),
                "resource": token.resource,
                "token_type": "Bearer",
                "client_id": token.client_id,
            }
        )
