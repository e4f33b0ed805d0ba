"""Key Vault's JSON bundles (SecretBundle, KeyBundle, CertificateBundle, policy, lists)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.hazmat.primitives import serialization

from devstack.tenant.pki import b64url, x5t
from devstack.tenant.vault import CertificateVersion, KeyVersion, SecretVersion

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
    def certificate_item(self, cv: CertificateVersion, *, versioned: bool) -> dict[str, Any]:
        cid = f"{self.vault}/certificates/{cv.name}" + (f"/{cv.version}" if versioned else "")
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

    def certificate(self, cv: CertificateVersion) -> dict[str, Any]:
        der = cv.certificate.public_bytes(serialization.Encoding.DER)
        return self.certificate_item(cv, versioned=True) | {
            "kid": f"{self.vault}/keys/{cv.name}/{cv.version}",
            "sid": f"{self.vault}/secrets/{cv.name}/{cv.version}",
            "cer": base64.b64encode(der).decode("ascii"),
            "policy": self.policy(cv),
        }

    def policy(self, cv: CertificateVersion) -> dict[str, Any]:
        key_size = cv.certificate.public_key().key_size  # type: ignore[union-attr]
        return {
            "id": f"{self.vault}/certificates/{cv.name}/policy",
            "key_props": {
                "exportable": cv.exportable,
                "kty": "RSA",
                "key_size": key_size,
                "reuse_key": False,
            },
            "secret_props": {"contentType": cv.content_type},
            "x509_props": {
                "subject": cv.subject or cv.certificate.subject.rfc4514_string(),
                "sans": {},
                "ekus": ["1.3.6.1.5.5.7.3.2"],
                "key_usage": ["digitalSignature", "keyEncipherment"],
                "validity_months": cv.validity_months,
                "basic_constraints": {"ca": False},
            },
            "lifetime_actions": [
                {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}
            ],
            "issuer": {"name": "Self"},
            "attributes": {"enabled": True, "created": epoch(cv.created), "updated": epoch(cv.created)},
        }

    def pending(self, cv: CertificateVersion, *, status: str = "completed") -> dict[str, Any]:
        """A CertificateOperation. Creation here is immediate, but the create answer still says
        `inProgress` as Key Vault's does: the SDK's poller starts only from an unfinished operation
        and would otherwise return None."""
        return {
            "id": f"{self.vault}/certificates/{cv.name}/pending",
            "issuer": {"name": "Self"},
            "cancellation_requested": False,
            "status": status,
            "target": f"{self.vault}/certificates/{cv.name}",
            "request_id": cv.version,
        }

    # -- lists ------------------------------------------------------------------------------
    def page(self, items: list[dict[str, Any]], next_link: str | None) -> dict[str, Any]:
        return {"value": items, "nextLink": next_link}


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")
