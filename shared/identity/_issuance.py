"""Waiting for Key Vault to issue a certificate: Self at once, a CA issuer in minutes, Unknown by hand.

Key Vault answers a create with a certificate operation (`/certificates/{name}/pending`) that is
`inProgress` until the issuer has signed: a self-signed certificate within seconds, a CA issuer
(DigiCert, GlobalSign: https://learn.microsoft.com/azure/key-vault/certificates/how-to-integrate-certificate-authority)
when the CA answers, and the `Unknown` issuer only when a person merges the signed certificate
(https://learn.microsoft.com/azure/key-vault/certificates/create-certificate-signing-request).

The SDK's poller waits on a background thread for ever, which a timer invocation cannot
afford; this waits at most `wait_s`, at Key Vault's `Retry-After` pace (capped), and otherwise
raises CertificatePendingError: the request stays with Key Vault, and the next run finds the
operation in progress and waits on it instead of asking again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import CertificatePendingError, KeyVaultError
from shared.http import retry_after_seconds

IN_PROGRESS = "inprogress"
POLL_FLOOR_S = 0.2  # never poll faster than this, whatever Retry-After says
POLL_CAP_S = 10.0  # Key Vault sends Retry-After: 10 for an operation in progress


@dataclass(frozen=True)
class Issuance:
    """A certificate operation as Key Vault reports it (no CSR kept: it is not needed here)."""

    status: str  # inProgress | completed | failed | cancelled (Key Vault's words)
    issuer: str
    details: str | None
    error_code: str | None
    error_message: str | None
    retry_after: float | None

    @property
    def in_progress(self) -> bool:
        return self.status.lower() == IN_PROGRESS

    @property
    def needs_merge(self) -> bool:
        """Issuer Unknown: Key Vault made a CSR and waits for a person to merge the signed certificate."""
        return self.issuer.lower() == "unknown"

    @classmethod
    def of(cls, body: Mapping[str, Any], retry_after: str | None = None) -> Issuance:
        error = _mapping(body.get("error"))
        issuer = _mapping(body.get("issuer"))
        return cls(
            status=str(body.get("status") or ""),
            issuer=str(issuer.get("name") or "Self"),
            details=str(body.get("status_details") or "") or None,
            error_code=str(error.get("code") or "") or None,
            error_message=str(error.get("message") or "") or None,
            retry_after=retry_after_seconds(retry_after),
        )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def await_issued(
    first: Issuance,
    poll: Callable[[], Issuance],
    *,
    name: str,
    vault_url: str,
    wait_s: float,
) -> None:
    """Return once `first` (then each `poll()`) says completed; raise when it failed, was
    cancelled, needs a merge, or is still in progress after `wait_s` seconds."""
    deadline = time.monotonic() + max(0.0, wait_s)
    current = first
    while True:
        status = current.status.lower()
        if status == "completed":
            return
        if status in ("failed", "cancelled"):
            raise _ended(current, name, vault_url)
        if current.needs_merge:
            raise CertificatePendingError(
                f"Key Vault made a certificate signing request for {name} in {vault_url} (issuer Unknown) "
                "and waits for the signed certificate to be merged.",
                issuer=current.issuer,
                details=current.details,
                hint=(
                    "Have the CSR signed by your CA (Key Vault > Certificates > "
                    f"{name} > Certificate Operation > Download CSR), then merge it "
                    f"(az keyvault certificate pending merge --vault-name <vault> --name {name} "
                    "--file signed.pem); the next run registers the new certificate."
                ),
            )
        remaining = deadline - time.monotonic()
        pace = min(max(current.retry_after or 1.0, POLL_FLOOR_S), POLL_CAP_S)
        if remaining <= 0:
            raise CertificatePendingError(
                f"Key Vault's issuer {current.issuer} has not issued certificate {name} in {vault_url} "
                f"yet ({current.details or 'in progress'}).",
                issuer=current.issuer,
                details=current.details,
                hint=(
                    "Nothing to do while the CA works on the request: Key Vault completes it by itself and "
                    "the next run picks the certificate up. If it stays pending, check the issuer's account "
                    "(Key Vault > Certificates > Certificate Authorities) and the CA's order."
                ),
            )
        time.sleep(min(pace, remaining))
        current = poll()


def _ended(current: Issuance, name: str, vault_url: str) -> KeyVaultError:
    if current.status.lower() == "cancelled":
        return KeyVaultError(
            f"The request for certificate {name} in {vault_url} was cancelled (issuer {current.issuer}).",
            code="CertificateRequestCancelled",
            hint="Run again to request a new version.",
        )
    why = current.error_message or current.details or "no reason given"
    return KeyVaultError(
        f"Key Vault's issuer {current.issuer} did not issue certificate {name} in {vault_url}: {why}",
        code=current.error_code or "CertificateRequestFailed",
        hint=(
            f"Check issuer {current.issuer} (Key Vault > Certificates > Certificate Authorities: its "
            "provider account, organization and credentials) and the policy's subject, then run again."
        ),
    )
