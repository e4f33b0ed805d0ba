"""Key Vault's data-plane handlers: authenticate, check api-version, authorize, call the model, serialize.

Authentication comes before anything that reads the body: the SDKs' first request (the
challenge) is sent without a token, and a POST's challenge request has an empty body.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.keyvault import rbac
from devstack.keyvault.auth import Caller, Gatekeeper
from devstack.keyvault.exceptions import BadParameter, KeyNotFound
from devstack.keyvault.models import KeyVaultBackend
from devstack.keyvault.serialize import Serializer
from devstack.tenant.vault import PKCS12

MAX_RESULTS = 25  # Key Vault's page size limit for list operations
_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")


class KeyVaultResponses:
    """One handler per operation; `urls.py` maps paths to them."""

    def __init__(self, backend: KeyVaultBackend, gate: Gatekeeper, serializer: Serializer) -> None:
        self.backend = backend
        self.gate = gate
        self.out = serializer

    # -- common steps -----------------------------------------------------------------------
    def _begin(self, request: Request, action: str, object_path: str, *, managed: bool = False) -> Caller:
        caller = self.gate.authenticate(request)
        if not request.args.get("api-version"):
            raise BadParameter("The request URI contains an invalid or missing api-version parameter.")
        self.gate.authorize(caller, action, object_path, managed=managed)
        return caller

    @staticmethod
    def _json(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            raise BadParameter("The request body is not valid JSON.") from exc
        if not isinstance(body, dict):
            raise BadParameter("The request body must be a JSON object.")
        return body

    def _paged(self, request: Request, items: list[dict[str, Any]]) -> Response:
        try:
            size = int(request.args.get("maxresults") or MAX_RESULTS)
            start = int(request.args.get("$skiptoken") or 0)
        except ValueError as exc:
            raise BadParameter("maxresults and $skiptoken must be integers.") from exc
        if not 1 <= size <= MAX_RESULTS:
            raise BadParameter(f"Invalid maxresults {size}: it must be between 1 and {MAX_RESULTS}.")
        next_link = None
        if start + size < len(items):
            version = request.args["api-version"]
            next_link = (
                f"{self.out.vault}{request.path}?api-version={version}"
                f"&$skiptoken={start + size}&maxresults={size}"
            )
        return json_response(self.out.page(items[start : start + size], next_link))

    # -- secrets ----------------------------------------------------------------------------
    def get_secret(self, request: Request, name: str, version: str | None = None) -> Response:
        self._begin(request, rbac.GET_SECRET, f"secrets/{name}", managed=self.backend.is_managed_secret(name))
        return json_response(self.out.secret(self.backend.get_secret(name, version)))

    def list_secrets(self, request: Request) -> Response:
        self._begin(request, rbac.READ_SECRET_METADATA, "secrets")
        items = [self.out.secret_item(s, versioned=False) for s in self.backend.list_secrets()]
        return self._paged(request, items)

    def list_secret_versions(self, request: Request, name: str) -> Response:
        managed = self.backend.is_managed_secret(name)
        self._begin(request, rbac.READ_SECRET_METADATA, f"secrets/{name}", managed=managed)
        items = [self.out.secret_item(s, versioned=True) for s in self.backend.list_secret_versions(name)]
        return self._paged(request, items)

    def set_secret(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.SET_SECRET, f"secrets/{name}")
        if not _NAME.match(name):
            raise BadParameter(
                f"The request URI contains an invalid name: {name}. "
                "Names may contain only 0-9, a-z, A-Z and -, up to 127 characters."
            )
        body = self._json(request)
        if not isinstance(body.get("value"), str):
            raise BadParameter("Property 'value' is required and must be a string.")
        sv = self.backend.set_secret(name, body["value"], body.get("contentType"), body.get("tags"))
        return json_response(self.out.secret(sv))

    # -- keys -------------------------------------------------------------------------------
    def get_key(self, request: Request, name: str, version: str | None = None) -> Response:
        self._begin(request, rbac.READ_KEY, f"keys/{name}", managed=self.backend.is_managed_key(name))
        return json_response(self.out.key(self.backend.get_key(name, version)))

    def sign(self, request: Request, name: str, version: str | None = None) -> Response:
        self._begin(request, rbac.SIGN, f"keys/{name}", managed=self.backend.is_managed_key(name))
        body = self._json(request)
        try:
            digest = base64.urlsafe_b64decode(str(body["value"]) + "==")
        except (KeyError, binascii.Error, ValueError) as exc:
            raise BadParameter("Property 'value' is required and must be base64url.") from exc
        kv, signature = self.backend.sign(name, version, str(body.get("alg", "")), digest)
        return json_response(self.out.signature(kv, signature))

    def decrypt(self, request: Request, name: str, version: str | None = None) -> Response:
        return self._decrypt(request, rbac.DECRYPT, name, version)

    def unwrap_key(self, request: Request, name: str, version: str | None = None) -> Response:
        return self._decrypt(request, rbac.UNWRAP_KEY, name, version)

    def _decrypt(self, request: Request, action: str, name: str, version: str | None) -> Response:
        self._begin(request, action, f"keys/{name}", managed=self.backend.is_managed_key(name))
        body = self._json(request)
        try:
            value = str(body["value"])
            ciphertext = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (KeyError, binascii.Error, ValueError) as exc:
            raise BadParameter("Property 'value' is required and must be base64url.") from exc
        kv, plaintext = self.backend.decrypt(name, version, str(body.get("alg", "")), ciphertext)
        return json_response(self.out.operation_result(kv, plaintext))

    def sign_empty_version(self, request: Request, name: str) -> Response:
        """`/keys/{name}//sign`: what CryptographyClient posts for a versionless id it could not resolve."""
        self._begin(request, rbac.SIGN, f"keys/{name}", managed=self.backend.is_managed_key(name))
        raise KeyNotFound(f"{name}/")

    # -- certificates -----------------------------------------------------------------------
    def get_certificate(self, request: Request, name: str, version: str | None = None) -> Response:
        self._begin(request, rbac.READ_CERTIFICATE, f"certificates/{name}")
        return json_response(self.out.certificate(self.backend.get_certificate(name, version)))

    def get_policy(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.READ_CERTIFICATE, f"certificates/{name}")
        return json_response(self.out.policy(self.backend.get_certificate(name)))

    def get_pending(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.READ_CERTIFICATE, f"certificates/{name}")
        return json_response(self.out.pending(self.backend.get_certificate(name)))

    def list_certificates(self, request: Request) -> Response:
        self._begin(request, rbac.READ_CERTIFICATE, "certificates")
        items = [self.out.certificate_item(c, versioned=False) for c in self.backend.list_certificates()]
        return self._paged(request, items)

    def list_certificate_versions(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.READ_CERTIFICATE, f"certificates/{name}")
        versions = self.backend.list_certificate_versions(name)
        return self._paged(request, [self.out.certificate_item(c, versioned=True) for c in versions])

    def import_certificate(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.IMPORT_CERTIFICATE, f"certificates/{name}")
        body = self._json(request)
        if not isinstance(body.get("value"), str):
            raise BadParameter("Property 'value' is required and must be a string.")
        policy = body.get("policy") or {}
        cv = self.backend.import_certificate(
            name,
            body["value"],
            body.get("pwd") or None,
            content_type=(policy.get("secret_props") or {}).get("contentType"),
            exportable=bool((policy.get("key_props") or {}).get("exportable", True)),
            tags=body.get("tags"),
        )
        return json_response(self.out.certificate(cv))

    def create_certificate(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.CREATE_CERTIFICATE, f"certificates/{name}")
        policy = self._json(request).get("policy") or {}
        x509_props = policy.get("x509_props") or {}
        cv = self.backend.create_certificate(
            name,
            subject=str(x509_props.get("subject") or f"CN={name}"),
            validity_months=int(x509_props.get("validity_months") or 12),
            content_type=str((policy.get("secret_props") or {}).get("contentType") or PKCS12),
            exportable=bool((policy.get("key_props") or {}).get("exportable", True)),
        )
        return json_response(self.out.pending(cv, status="inProgress"), 202)
