"""Client assertion verification as Entra does it: certificate (x5t, x5t#S256, subject name + issuer
with x5c) or federated (a token from a trusted issuer). No HTTP.

Entra does not reject a reused `jti`: msal signs one assertion and reuses it for ~10 minutes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import time
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from devstack.core.problems import finite_number
from devstack.entra import exceptions as e
from devstack.tenant.models import AppRegistration, Tenant
from devstack.tenant.pki import utcnow
from devstack.tenant.tokens import TokenRejected

CLOCK_SKEW_S = 300  # Entra tolerates five minutes of clock difference
# The last second .NET's DateTime can hold (9999-12-31T23:59:59Z): later NumericDates do not parse.
MAX_NUMERIC_DATE = 253_402_300_799
ALGORITHMS = ("RS256", "PS256")


def entra_time(epoch: float) -> str:
    """Times in AADSTS texts look like `11/5/2026 1:22:53 PM` (UTC)."""
    t = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return f"{t.month}/{t.day}/{t.year} {t.strftime('%I').lstrip('0')}:{t.strftime('%M:%S %p')}"


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified; MalformedJwt if it is not a JWT."""
    try:
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise e.MalformedJwt() from exc
    return header, claims


def verify_client_assertion(
    tenant: Tenant, app: AppRegistration, assertion: str, audiences: set[str], now: float | None = None
) -> str:
    """Accept the assertion for `app` or raise the AADSTS error; return "certificate" or "federated"."""
    header, claims = unverified(assertion)
    now = time.time() if now is None else now
    if str(claims.get("iss", "")).lower() == app.app_id.lower():
        _verify_certificate_assertion(tenant, app, assertion, header, claims, audiences, now)
        return "certificate"
    _verify_federated_assertion(tenant, app, assertion, claims)
    return "federated"


def _verify_certificate_assertion(
    tenant: Tenant,
    app: AppRegistration,
    assertion: str,
    header: dict[str, Any],
    claims: dict[str, Any],
    audiences: set[str],
    now: float,
) -> None:
    cert = find_certificate(tenant, app, header)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise e.AssertionSignatureInvalid()
    try:
        jwt.decode(
            assertion,
            cert.public_key(),  # type: ignore[arg-type]  # registered certificates are RSA
            algorithms=[str(alg)],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise e.AssertionSignatureInvalid() from exc
    except jwt.PyJWTError as exc:
        raise e.MalformedJwt() from exc
    check_time_range(claims, now)
    if str(claims.get("sub", "")).lower() != app.app_id.lower():
        raise e.AssertionSubjectMismatch()
    aud = claims.get("aud")
    presented = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a.rstrip("/").lower() in audiences for a in presented):
        raise e.AssertionAudienceInvalid()


def numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """A time claim as RFC 7519 defines it (a finite JSON number, seconds since 1970); else 50027."""
    value = claims.get(name)
    if value is None:
        return None
    if not finite_number(value, 0, MAX_NUMERIC_DATE):
        raise e.MalformedJwt()
    return float(value)


def check_time_range(claims: dict[str, Any], now: float) -> None:
    """`exp` is required; `nbf` (or `iat`) bounds the start; every time claim must be a NumericDate."""
    exp = numeric_date(claims, "exp")
    nbf, iat = numeric_date(claims, "nbf"), numeric_date(claims, "iat")
    if exp is None:
        raise e.MalformedJwt()
    start = nbf if nbf is not None else iat if iat is not None else now
    if exp + CLOCK_SKEW_S < now or start - CLOCK_SKEW_S > now:
        raise e.AssertionTimeRange(entra_time(now), entra_time(start), entra_time(exp))


def _b64url_bytes(value: object) -> bytes | None:
    # msal pads x5t, other clients do not; Entra accepts both.
    if not isinstance(value, str):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def find_certificate(tenant: Tenant, app: AppRegistration, header: dict[str, Any]) -> x509.Certificate:
    """The certificate the assertion names: registered by thumbprint, or trusted by subject + issuer."""
    sha1 = _b64url_bytes(header.get("x5t"))
    sha256 = _b64url_bytes(header.get("x5t#S256"))
    now = utcnow()
    for kc in app.key_credentials:
        der = kc.certificate.public_bytes(serialization.Encoding.DER)
        if (sha1 and sha1 == hashlib.sha1(der, usedforsecurity=False).digest()) or (
            sha256 and sha256 == hashlib.sha256(der).digest()
        ):
            if not kc.start <= now <= kc.end:
                raise e.CertificateExpired(
                    app.app_id, (sha1 or sha256 or b"").hex().upper(), kc.start, kc.end
                )
            return kc.certificate
    x5c = header.get("x5c")
    if x5c:
        cert = _trusted_by_subject(tenant, app, x5c if isinstance(x5c, list) else [x5c])
        if cert is not None:
            return cert
    raise e.CertificateNotRegistered(app.app_id, (sha1 or sha256 or b"").hex().upper())


def _trusted_by_subject(tenant: Tenant, app: AppRegistration, x5c: list[Any]) -> x509.Certificate | None:
    """Subject name + issuer: the leaf's subject and its direct issuer are trusted on the app, and the
    leaf chains to the tenant CA through the intermediates sent after it in x5c.

    The trusted issuer names the CA that signed the leaf, which may be an intermediate: Entra's own
    subject name + issuer certificates come from issuing CAs below a root, and Entra accepts a
    multi-certificate x5c (see docs/identity.md, "Subject name + issuer"). Entra knows the issuing
    CAs of the authorities it trusts; the emulator knows only its root, so the chain must be sent.
    """
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode(str(c))) for c in x5c]
    except (binascii.Error, ValueError):
        return None
    leaf = chain[0]
    now = utcnow()
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        return None
    anchor = tenant.ca.certificate
    for ts in app.trusted_subjects:
        if (
            leaf.subject.rfc4514_string() == ts.subject_name
            and leaf.issuer.rfc4514_string() == ts.issuer_name
            and _chains_to(leaf, chain[1:], anchor, now)
        ):
            return leaf
    return None


def _chains_to(
    cert: x509.Certificate, intermediates: list[x509.Certificate], anchor: x509.Certificate, now: dt.datetime
) -> bool:
    """Walk issuer links through the sent chain up to the trust anchor, checking every signature and
    that every intermediate is a CA certificate within its validity."""
    for _ in range(len(intermediates) + 1):
        if cert.issuer == anchor.subject:
            return _signed_by(cert, anchor)
        parent = next((c for c in intermediates if c.subject == cert.issuer), None)
        if parent is None or not _is_ca(parent, now) or not _signed_by(cert, parent):
            return False
        cert = parent
    return False


def _is_ca(cert: x509.Certificate, now: dt.datetime) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca and cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _verify_federated_assertion(
    tenant: Tenant, app: AppRegistration, assertion: str, claims: dict[str, Any]
) -> None:
    """Issuer, then subject, then audience must match one federated credential; then the signature."""
    iss, sub, aud = str(claims.get("iss", "")), str(claims.get("sub", "")), claims.get("aud")
    by_issuer = [f for f in app.federated_credentials if f.issuer == iss]
    if not by_issuer:
        raise e.FederatedIssuerNotFound(iss)
    by_subject = [f for f in by_issuer if f.subject == sub]
    if not by_subject:
        raise e.FederatedSubjectNotFound(sub)
    presented = aud if isinstance(aud, list) else [aud]
    match = next((f for f in by_subject if any(a in f.audiences for a in presented)), None)
    if match is None:
        raise e.FederatedAudienceNotFound(str(aud))
    # The only issuer whose keys the devstack knows is the tenant itself (managed identities).
    try:
        tenant.issuer.verify(assertion, match.audiences, leeway_s=CLOCK_SKEW_S)
    except TokenRejected as exc:
        if exc.kind == "expired":
            check_time_range(claims, time.time())
        raise e.AssertionSignatureInvalid() from exc
