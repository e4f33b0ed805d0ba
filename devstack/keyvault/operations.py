"""Certificate creation as Key Vault runs it: a CertificateOperation per certificate, by issuer.

- `Self`: a self-signed certificate (issuer == subject, its own key signs it), made at once.
- `Unknown`: a CSR waits `inProgress` for `POST /certificates/{name}/pending/merge`.
- An issuer object of a partnered provider: the provider's issuing CA signs the CSR once the
  issuer's delay has passed; the first read after that completes the operation (or fails it,
  when the devstack was told to refuse). Other providers never answer.

While an operation is in progress its version is the certificate's pending one: readable
(disabled, no `cer`), but with no key or secret version until it completes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
import uuid
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from devstack.keyvault.exceptions import BadParameter, CertificateConflict, PendingCertificateNotFound
from devstack.keyvault.issuers import PROVIDERS, RESERVED, SELF, UNKNOWN, Issuers
from devstack.tenant.models import Tenant
from devstack.tenant.pki import IssuedCertificate, new_rsa_key, self_signed, signing_request, utcnow
from devstack.tenant.vault import CertificateOperation, CertificateVersion, new_version

# Key Vault's status_details texts (azure-sdk-for-js recordings of the live service).
IN_PROGRESS = (
    "Pending certificate created. Certificate request is in progress. "
    "This may take some time based on the issuer provider. Please check again later."
)
MERGE_NEEDED = "Pending certificate created. Please Perform Merge to complete the request."
REFUSED = "CertificateRequestRefused"  # ≈: the code of a failed issuance
# Merge refusals: the service's words quoted in MicrosoftDocs/azure-docs#100959 and
# Azure/azure-powershell#24323; the key mismatch text is ≈.
NO_X5C = "Property x5c has invalid value X5C must has at least one valid item"
BAD_X5C = "Unable to parse X5c certificate chain and locate leaf certificate"
NOT_UNKNOWN = "Merge is only possible for a pending certificate whose issuer is Unknown."  # ≈
KEY_MISMATCH = "The public key of the certificate in x5c does not match the pending certificate's key."


@dataclass
class CreateRequest:
    """A create's policy, checked (responses.py)."""

    subject: str
    common_name: str
    validity_months: int
    content_type: str
    exportable: bool
    key_size: int
    issuer_name: str
    tags: dict[str, str] = field(default_factory=dict)


def validity_end(start: dt.datetime, months: int) -> dt.datetime:
    return start + dt.timedelta(days=round(months * 30.4))


class Operations:
    def __init__(self, tenant: Tenant, issuers: Issuers) -> None:
        self.tenant = tenant
        self.store = tenant.vault
        self.issuers = issuers

    def create(self, name: str, req: CreateRequest) -> CertificateOperation:
        self._refuse_if_busy(name)
        issuer_name = RESERVED.get(req.issuer_name.lower())
        provider = None
        if issuer_name is None:
            issuer = self.issuers.get(req.issuer_name)  # 404 CertificateIssuerNotFound
            issuer_name = issuer.name
            provider = PROVIDERS.get(issuer.provider.lower())
        key = new_rsa_key(req.key_size)  # outside the lock: a 4096-bit key takes a while
        subject = _subject(req.subject, req.common_name)
        op = CertificateOperation(
            name=name,
            version=new_version(),
            request_id=uuid.uuid4().hex,
            issuer_name=issuer_name,
            key=key,
            csr=signing_request(subject, key),
            subject=req.subject,
            validity_months=req.validity_months,
            content_type=req.content_type,
            exportable=req.exportable,
            key_size=req.key_size,
            provider=provider,
            ready_at=time.monotonic() + self.issuers.settings_for(issuer_name).delay_seconds,
            status_details=MERGE_NEEDED if issuer_name == UNKNOWN else IN_PROGRESS,
            tags=dict(req.tags),
        )
        with self.store.lock:
            self._refuse_if_busy(name)
            self.store.operations[name] = op
            if issuer_name == SELF:
                now = utcnow()
                end = validity_end(now, op.validity_months)
                self._complete(
                    op, self_signed(subject, key, not_before=now - dt.timedelta(minutes=5), not_after=end)
                )
        return op

    def _refuse_if_busy(self, name: str) -> None:
        current = self.advance(name)
        if current is not None and current.in_progress:
            raise CertificateConflict(name)

    def advance(self, name: str) -> CertificateOperation | None:
        """The certificate's operation, first completed (or failed) if its issuer's time has come."""
        with self.store.lock:
            op = self.store.operations.get(name)
            if op is None or not op.in_progress or op.provider is None or time.monotonic() < op.ready_at:
                return op
            refusal = self.issuers.take_refusal(op.issuer_name)
            if refusal is not None:
                op.status, op.status_details = "failed", refusal
                op.error = {"code": REFUSED, "message": refusal}
                return op
            ca = self.issuers.issuing_ca(op.provider)
            now = utcnow()
            csr = x509.load_der_x509_csr(op.csr)
            issued = ca.issue(
                csr.subject.rfc4514_string(),
                key=op.key,
                subject=csr.subject,  # the CA signs what the request asks for
                not_before=now - dt.timedelta(minutes=5),
                not_after=validity_end(now, op.validity_months),
            )
            self._complete(op, issued)
            return op

    def advance_all(self) -> None:
        with self.store.lock:
            names = list(self.store.operations)
        for name in names:
            self.advance(name)

    def pending(self, name: str) -> CertificateOperation | None:
        """The operation in progress for this certificate, if any (its version is the pending one)."""
        op = self.advance(name)
        return op if op is not None and op.in_progress else None

    def merge(self, name: str, x5c: list[str], tags: dict[str, str] | None) -> CertificateVersion:
        """Complete an `Unknown` operation with the signed certificate and its chain (base64 DER)."""
        op = self.pending(name)
        if op is None:
            raise PendingCertificateNotFound(name)
        if op.issuer_name != UNKNOWN:
            raise BadParameter(NOT_UNKNOWN)
        certs = _parse_x5c(x5c)
        public = op.key.public_key().public_numbers()
        leaf = next((c for c in certs if _public_numbers(c) == public), None)
        if leaf is None:
            raise BadParameter(KEY_MISMATCH)
        issued = IssuedCertificate(certificate=leaf, key=op.key, chain=[c for c in certs if c is not leaf])
        with self.store.lock:
            if self.store.operations.get(name) is not op or not op.in_progress:
                raise PendingCertificateNotFound(name)
            if tags is not None:
                op.tags = dict(tags)
            return self._complete(op, issued)

    def cancel(self, name: str) -> CertificateOperation:
        """`cancellation_requested: true`: the operation ends `cancelled` and its pending version goes."""
        with self.store.lock:
            op = self.current(name)
            if op.in_progress:
                op.cancellation_requested = True
                op.status, op.status_details = "cancelled", None
            return op

    def delete(self, name: str) -> CertificateOperation:
        """`DELETE /certificates/{name}/pending`: the operation (and a pending version) goes."""
        with self.store.lock:
            op = self.current(name)
            del self.store.operations[name]
            return op

    def current(self, name: str) -> CertificateOperation:
        """The certificate's operation, whatever its status; 404 when it has none."""
        op = self.advance(name)
        if op is None:
            raise PendingCertificateNotFound(name)
        return op

    def _complete(self, op: CertificateOperation, issued: IssuedCertificate) -> CertificateVersion:
        cv = self.store.import_certificate(
            op.name,
            issued,
            content_type=op.content_type,
            exportable=op.exportable,
            version=op.version,
            issuer_name=op.issuer_name,
        )
        cv.subject = op.subject
        cv.validity_months = op.validity_months
        cv.tags = dict(op.tags)
        cv.key_size = op.key_size
        op.status, op.status_details = "completed", None
        return cv


def _subject(subject: str, common_name: str) -> x509.Name:
    """The policy's subject as a distinguished name; just its CN when it is not RFC 4514 text."""
    try:
        name = x509.Name.from_rfc4514_string(subject)
    except ValueError:
        name = None
    if name is None or not name.get_attributes_for_oid(NameOID.COMMON_NAME):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return name


def _parse_x5c(x5c: list[str]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for item in x5c:
        try:
            raw = base64.b64decode(item, validate=False)
            if raw.lstrip().startswith(b"-----BEGIN"):
                certs.extend(x509.load_pem_x509_certificates(raw))
            else:
                certs.append(x509.load_der_x509_certificate(raw))
        except (ValueError, binascii.Error) as exc:
            raise BadParameter(BAD_X5C) from exc
    if not certs:
        raise BadParameter(NO_X5C)
    return certs


def _public_numbers(cert: x509.Certificate) -> rsa.RSAPublicNumbers | None:
    key = cert.public_key()
    return key.public_numbers() if isinstance(key, rsa.RSAPublicKey) else None
