"""Key Vault's data-plane handlers: authenticate, check api-version, authorize, call the model, serialize.

Authentication comes before anything that reads the body: the SDKs' first request (the
challenge) is sent without a token, and a POST's challenge request has an empty body.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from devstack.core.emulator import json_response
from devstack.keyvault import rbac
from devstack.keyvault import validation as v
from devstack.keyvault.auth import Caller, Gatekeeper
from devstack.keyvault.exceptions import BadParameter, KeyNotFound
from devstack.keyvault.issuers import SELF
from devstack.keyvault.models import KeyVaultBackend, common_name
from devstack.keyvault.operations import IN_PROGRESS, CreateRequest
from devstack.keyvault.serialize import Serializer
from devstack.tenant.vault import PEM, PKCS12, CertificateOperation, CertificateView

MAX_RESULTS = 25  # Key Vault's page size limit for list operations
_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_B64URL = re.compile(r"[A-Za-z0-9_-]{2,1400}={0,2}")


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
        return v.json_object(request.get_data())

    def _paged(self, request: Request, items: list[dict[str, Any]]) -> Response:
        try:
            size = int(request.args.get("maxresults") or MAX_RESULTS)
            start = int(request.args.get("$skiptoken") or 0)
        except ValueError as exc:
            raise BadParameter("maxresults and $skiptoken must be integers.") from exc
        if start < 0:
            raise BadParameter("$skiptoken must not be negative.")
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
        check_name(name)
        body = self._json(request)
        value = v.secret_value(body)
        content_type = v.string(body, "contentType", max_length=v.MAX_CONTENT_TYPE)
        tags = v.tags(body)
        v.attributes(body)
        sv = self.backend.set_secret(name, value, content_type, tags)
        return json_response(self.out.secret(sv))

    # -- keys -------------------------------------------------------------------------------
    def get_key(self, request: Request, name: str, version: str | None = None) -> Response:
        self._begin(request, rbac.READ_KEY, f"keys/{name}", managed=self.backend.is_managed_key(name))
        return json_response(self.out.key(self.backend.get_key(name, version)))

    def sign(self, request: Request, name: str, version: str | None = None) -> Response:
        self._begin(request, rbac.SIGN, f"keys/{name}", managed=self.backend.is_managed_key(name))
        body = self._json(request)
        digest = _b64url_value(body)
        alg = v.string(body, "alg", required=True, max_length=16) or ""
        kv, signature = self.backend.sign(name, version, alg, digest)
        return json_response(self.out.signature(kv, signature))

    def decrypt(self, request: Request, name: str, version: str | None = None) -> Response:
        return self._decrypt(request, rbac.DECRYPT, name, version)

    def unwrap_key(self, request: Request, name: str, version: str | None = None) -> Response:
        return self._decrypt(request, rbac.UNWRAP_KEY, name, version)

    def _decrypt(self, request: Request, action: str, name: str, version: str | None) -> Response:
        self._begin(request, action, f"keys/{name}", managed=self.backend.is_managed_key(name))
        body = self._json(request)
        ciphertext = _b64url_value(body)
        alg = v.string(body, "alg", required=True, max_length=16) or ""
        kv, plaintext = self.backend.decrypt(name, version, alg, ciphertext)
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
        op = self.backend.get_operation(name)
        return json_response(self.out.operation(op), headers=self._retry_after(op))

    def _retry_after(self, op: CertificateView) -> dict[str, str]:
        """Key Vault's `Retry-After` on an operation in progress (the issuer's, settable)."""
        if not isinstance(op, CertificateOperation) or not op.in_progress:
            return {}
        return {"Retry-After": str(self.backend.issuers.settings_for(op.issuer_name).retry_after)}

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
        value = v.string(body, "value", required=True, max_length=1 << 20) or ""
        password = v.string(body, "pwd") or None
        policy = v.obj(body, "policy")
        content_type = v.string(v.obj(policy, "secret_props"), "contentType", max_length=v.MAX_CONTENT_TYPE)
        if content_type not in (None, PKCS12, PEM):
            raise BadParameter(f"contentType must be {PKCS12} or {PEM}.")
        exportable = v.boolean(v.obj(policy, "key_props"), "exportable", True)
        tags = v.tags(body)
        v.attributes(body)
        cv = self.backend.import_certificate(
            name, value, password, content_type=content_type, exportable=exportable, tags=tags
        )
        return json_response(self.out.certificate(cv))

    def create_certificate(self, request: Request, name: str) -> Response:
        self._begin(request, rbac.CREATE_CERTIFICATE, f"certificates/{name}")
        body = self._json(request)
        policy = v.obj(body, "policy")
        x509_props = v.obj(policy, "x509_props")
        content_type = v.string(v.obj(policy, "secret_props"), "contentType") or PKCS12
        if content_type not in (PKCS12, PEM):
            raise BadParameter(f"contentType must be {PKCS12} or {PEM}.")
        tags = v.tags(body)
        v.attributes(body)
        subject = v.string(x509_props, "subject", max_length=1024) or f"CN={name}"
        op = self.backend.create_certificate(
            name,
            CreateRequest(
                subject=subject,
                common_name=common_name(subject),
                validity_months=v.integer(x509_props, "validity_months", 12, low=1, high=1200),
                content_type=content_type,
                exportable=v.boolean(v.obj(policy, "key_props"), "exportable", True),
                key_size=_key_size(v.obj(policy, "key_props")),
                issuer_name=v.string(v.obj(policy, "issuer"), "name", max_length=127) or SELF,
                tags=tags or {},
            ),
        )
        # Self is issued at once, but the answer is `inProgress` as Key Vault's, with its headers.
        answer = (
            self.out.operation(op, status="inProgress", details=IN_PROGRESS)
            if op.status == "completed"
            else self.out.operation(op)
        )
        retry = self.backend.issuers.settings_for(op.issuer_name).retry_after
        location = (
            f"{self.out.vault}/certificates/{name}/pending"
            f"?api-version={quote(request.args['api-version'])}&request_id={op.request_id}"
        )
        return json_response(answer, 202, {"Retry-After": str(retry), "Location": location})


def check_name(name: str) -> None:
    """An object name Key Vault accepts: 1 to 127 of 0-9, a-z, A-Z and -."""
    if not _NAME.match(name):
        raise BadParameter(
            f"The request URI contains an invalid name: {name}. "
            "Names may contain only 0-9, a-z, A-Z and -, up to 127 characters."
        )


def _key_size(key_props: dict[str, Any]) -> int:
    """RSA 2048, 3072 or 4096, as Key Vault creates them (default 2048)."""
    size = v.integer(key_props, "key_size", 2048, low=0, high=1 << 16)
    if size not in (2048, 3072, 4096):
        raise BadParameter("The key size must be 2048, 3072 or 4096 for an RSA key.")  # ≈
    return size


def _b64url_value(body: dict[str, Any]) -> bytes:
    """`value` as Key Vault's crypto operations take it: base64url, padded or not."""
    value = v.string(body, "value", required=True) or ""
    if not _B64URL.fullmatch(value):
        raise BadParameter("Property 'value' is required and must be base64url.")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
