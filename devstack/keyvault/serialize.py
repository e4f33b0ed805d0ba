"""Key Vault's JSON bundles (SecretBundle, KeyBundle, CertificateBundle, policy, operation, issuer, lists)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.hazmat.primitives import serialization

from devstack.keyvault.operations import validity_end
from devstack.tenant.pki import b64url, x5t
from devstack.tenant.vault import (
    CertificateOperation,
    CertificateView,
    IssuerObject,
    KeyVersion,
    SecretVersion,
)

# Soft delete with purge protection off: what a vault created with defaults reports.
RECOVERY_LEVEL = "Recoverable+Purgeable"
RECOVERABLE_DAYS = 90


def epoch(t: dt.datetime) -> int:
    return int(t.timestamp())


def _attributes(created: dt.datetime, enabled: bool, **extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {"enabled": enabled, **{k: v for k, v in extra.items() if v is not None}}
    attrs |= {
        "created": epoch(created),
        "updated": epoch(created),
        "recoveryLevel": RECOVERY_LEVEL,
        "recoverableDays": RECOVERABLE_DAYS,
    }
    return attrs


class Serializer:
    """Renders objects with ids under this vault's URL."""

    def __init__(self, vault_url: str) -> None:
        self.vault = vault_url.rstrip("/")

    # -- secrets ----------------------------------------------------------------------------
    def secret_item(self, sv: SecretVersion, *, versioned: bool) -> dict[str, Any]:
        sid = f"{self.vault}/secrets/{sv.name}" + (f"/{sv.version}" if versioned else "")
        item: dict[str, Any] = {
            "id": sid,
            "attributes": _attributes(
                sv.created,
                sv.enabled,
                nbf=epoch(sv.not_before) if sv.not_before else None,
                exp=epoch(sv.expires) if sv.expires else None,
            ),
            "tags": sv.tags,
        }
        if sv.content_type:
            item["contentType"] = sv.content_type
        if sv.managed:
            item["managed"] = True
        return item

    def secret(self, sv: SecretVersion) -> dict[str, Any]:
        bundle = self.secret_item(sv, versioned=True) | {"value": sv.value}
        if sv.managed:
            bundle["kid"] = f"{self.vault}/keys/{sv.name}/{sv.version}"
        return bundle

    # -- keys -------------------------------------------------------------------------------
    def key(self, kv: KeyVersion) -> dict[str, Any]:
        numbers = kv.key.public_key().public_numbers()
        jwk = {
            "kid": f"{self.vault}/keys/{kv.name}/{kv.version}",
            "kty": "RSA",
            "key_ops": list(kv.operations),
            "n": b64url(_int_bytes(numbers.n)),
            "e": b64url(_int_bytes(numbers.e)),
        }
        bundle: dict[str, Any] = {
            "key": jwk,
            "attributes": _attributes(kv.created, kv.enabled, exportable=kv.exportable),
            "tags": {},
        }
        if kv.managed:
            bundle["managed"] = True
        return bundle

    def signature(self, kv: KeyVersion, signature: bytes) -> dict[str, Any]:
        return self.operation_result(kv, signature)

    def operation_result(self, kv: KeyVersion, value: bytes) -> dict[str, Any]:
        """Key Vault's KeyOperationResult: the versioned key id and the base64url result."""
        return {"kid": f"{self.vault}/keys/{kv.name}/{kv.version}", "value": b64url(value)}

    # -- certificates -----------------------------------------------------------------------
    def certificate_item(self, cv: CertificateView, *, versioned: bool) -> dict[str, Any]:
        cid = f"{self.vault}/certificates/{cv.name}" + (f"/{cv.version}" if versioned else "")
        if isinstance(cv, CertificateOperation):
            # The pending version: disabled, dated by its policy, no thumbprint yet.
            end = validity_end(cv.created, cv.validity_months)
            attrs = _attributes(cv.created, False, nbf=epoch(cv.created), exp=epoch(end))
            return {"id": cid, "attributes": attrs, "tags": cv.tags}
        return {
            "id": cid,
            "x5t": x5t(cv.certificate),
            "attributes": _attributes(
                cv.created,
                cv.enabled,
                nbf=epoch(cv.certificate.not_valid_before_utc),
                exp=epoch(cv.certificate.not_valid_after_utc),
            ),
            "tags": cv.tags,
        }

    def certificate(self, cv: CertificateView) -> dict[str, Any]:
        item = self.certificate_item(cv, versioned=True)
        if isinstance(cv, CertificateOperation):
            return item | {"policy": self.policy(cv), "pending": {"id": self._pending_id(cv.name)}}
        der = cv.certificate.public_bytes(serialization.Encoding.DER)
        return item | {
            "kid": f"{self.vault}/keys/{cv.name}/{cv.version}",
            "sid": f"{self.vault}/secrets/{cv.name}/{cv.version}",
            "cer": base64.b64encode(der).decode("ascii"),
            "policy": self.policy(cv),
        }

    def policy(self, cv: CertificateView) -> dict[str, Any]:
        return {
            "id": f"{self.vault}/certificates/{cv.name}/policy",
            "key_props": {
                "exportable": cv.exportable,
                "kty": "RSA",
                "key_size": cv.key_size,
                "reuse_key": False,
            },
            "secret_props": {"contentType": cv.content_type},
            "x509_props": {
                "subject": cv.subject,
                "sans": {},
                "ekus": ["1.3.6.1.5.5.7.3.2"],
                "key_usage": ["digitalSignature", "keyEncipherment"],
                "validity_months": cv.validity_months,
                "basic_constraints": {"ca": False},
            },
            "lifetime_actions": [
                {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}
            ],
            "issuer": {"name": cv.issuer_name},
            "attributes": {"enabled": True, "created": epoch(cv.created), "updated": epoch(cv.created)},
        }

    def operation(
        self, op: CertificateView, *, status: str | None = None, details: str | None = None
    ) -> dict[str, Any]:
        """A CertificateOperation. A certificate created without one (imported) reads as completed.

        `status` / `details` override: a `Self` create is complete at once, but its answer says
        `inProgress` as Key Vault's does (the SDK's poller starts only from an unfinished one)."""
        body: dict[str, Any] = {
            "id": self._pending_id(op.name),
            "issuer": {"name": op.issuer_name},
        }
        if not isinstance(op, CertificateOperation):
            return body | {
                "cancellation_requested": False,
                "status": "completed",
                "target": f"{self.vault}/certificates/{op.name}",
                "request_id": op.version,
            }
        status = status or op.status
        body |= {
            "csr": base64.b64encode(op.csr).decode("ascii"),
            "cancellation_requested": op.cancellation_requested,
            "status": status,
        }
        if details or (status == op.status and op.status_details):
            body["status_details"] = details or op.status_details
        if op.error and status == op.status:
            body["error"] = dict(op.error)
        if status == "completed":
            body["target"] = f"{self.vault}/certificates/{op.name}"
        return body | {"request_id": op.request_id}

    def _pending_id(self, name: str) -> str:
        return f"{self.vault}/certificates/{name}/pending"

    # -- issuers ----------------------------------------------------------------------------
    def issuer_item(self, issuer: IssuerObject) -> dict[str, Any]:
        return {"id": f"{self.vault}/certificates/issuers/{issuer.name}", "provider": issuer.provider}

    def issuer(self, issuer: IssuerObject) -> dict[str, Any]:
        """An IssuerBundle: the password (`pwd`) is kept by the vault and never returned."""
        bundle = self.issuer_item(issuer)
        if issuer.account_id is not None or issuer.password is not None:
            bundle["credentials"] = {"account_id": issuer.account_id} if issuer.account_id else {}
        org: dict[str, Any] = {"zip": 0}
        if issuer.organization_id:
            org["id"] = issuer.organization_id
        if issuer.admin_details:
            org["admin_details"] = [dict(a) for a in issuer.admin_details]
        bundle["org_details"] = org
        bundle["attributes"] = {
            "enabled": issuer.enabled,
            "created": epoch(issuer.created),
            "updated": epoch(issuer.updated),
        }
        return bundle

    # -- lists ------------------------------------------------------------------------------
    def page(self, items: list[dict[str, Any]], next_link: str | None) -> dict[str, Any]:
        return {"value": items, "nextLink": next_link}


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")
