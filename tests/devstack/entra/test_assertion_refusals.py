"""Every refusal in devstack/entra/assertions.py, reached directly with the exact AADSTS code.

The verifier is pure (no HTTP), so each test builds its own small tenant: nothing is shared or
left changed between tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.entra import assertions as a
from devstack.entra import exceptions as e
from devstack.tenant.models import (
    TOKEN_EXCHANGE_AUDIENCE,
    AppRegistration,
    FederatedCredential,
    KeyCredential,
    Tenant,
    TrustedSubject,
)
from devstack.tenant.pki import CertificateAuthority, IssuedCertificate, new_rsa_key, utcnow, x5t
from devstack.tenant.tokens import Principal, TokenIssuer
from tests.devstack.support import intermediate_ca

AUTHORITY = "https://127.0.0.1:1"
TOKEN_URL_AUDIENCE = f"{AUTHORITY}/tid/oauth2/v2.0/token"
SUBJECT = "CN=assertion-test"


@dataclass
class World:
    tenant: Tenant
    app: AppRegistration
    registered: IssuedCertificate
    mi: Principal


@pytest.fixture
def world() -> World:
    ca = CertificateAuthority()
    tenant = Tenant(
        tenant_id="tid",
        display_name="t",
        default_domain="t.example",
        authority_host=AUTHORITY,
        ca=ca,
        issuer=TokenIssuer("tid", f"{AUTHORITY}/tid/v2.0"),
    )
    registered = ca.issue("registered")
    now = utcnow()
    mi = Principal(
        object_id=str(uuid.uuid4()), app_id=str(uuid.uuid4()), display_name="mi", kind="ManagedIdentity"
    )
    app = AppRegistration(
        app_id=str(uuid.uuid4()),
        object_id=str(uuid.uuid4()),
        sp_object_id=str(uuid.uuid4()),
        display_name="app",
        key_credentials=[
            KeyCredential(
                key_id="k",
                display_name="registered",
                certificate_source=registered.certificate,
                start=now - dt.timedelta(days=1),
                end=now + dt.timedelta(days=1),
            )
        ],
        federated_credentials=[
            FederatedCredential("mi", tenant.issuer_url, mi.object_id, [TOKEN_EXCHANGE_AUDIENCE])
        ],
        trusted_subjects=[TrustedSubject(SUBJECT, ca.certificate.subject.rfc4514_string())],
    )
    tenant.apps.append(app)
    return World(tenant, app, registered, mi)


def _claims(w: World, now: float, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": w.app.app_id,
        "sub": w.app.app_id,
        "aud": TOKEN_URL_AUDIENCE,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _cert_assertion(
    w: World,
    key: rsa.RSAPrivateKey | None = None,
    alg: str = "RS256",
    now: float | None = None,
    **claims: Any,
) -> str:
    now = time.time() if now is None else now
    return jwt.encode(
        _claims(w, now, **claims),
        key or w.registered.key,
        algorithm=alg,
        headers={"x5t": x5t(w.registered.certificate)},
    )


def _verify(w: World, assertion: str, now: float | None = None) -> str:
    return a.verify_client_assertion(w.tenant, w.app, assertion, {TOKEN_URL_AUDIENCE.lower()}, now=now)


def _code(exc: pytest.ExceptionInfo[e.AadstsError]) -> int:
    return int(exc.value.code)


def test_registered_certificate_assertion_is_accepted(world: World) -> None:
    """A well-formed assertion signed by the registered certificate's key is a certificate credential."""
    assert _verify(world, _cert_assertion(world)) == "certificate"


def test_non_jwt_assertion_is_50027(world: World) -> None:
    """An assertion that is not a JWT at all is refused as malformed (AADSTS50027)."""
    with pytest.raises(e.MalformedJwt) as exc:
        _verify(world, "not-a-jwt")
    assert _code(exc) == 50027


def test_bad_signature_on_registered_certificate_is_700027(world: World) -> None:
    """Naming the registered certificate but signing with another key is refused (AADSTS700027)."""
    with pytest.raises(e.AssertionSignatureInvalid) as exc:
        _verify(world, _cert_assertion(world, key=new_rsa_key()))
    assert _code(exc) == 700027


@pytest.mark.parametrize("alg", ["HS256", "RS384", "RS512"])
def test_algorithm_other_than_rs256_ps256_is_700027(world: World, alg: str) -> None:
    """An `alg` outside RS256/PS256 is refused even when the signature itself would verify."""
    key: Any = b"k" * 32 if alg.startswith("HS") else world.registered.key
    with pytest.raises(e.AssertionSignatureInvalid) as exc:
        _verify(world, _cert_assertion(world, key=key, alg=alg))
    assert _code(exc) == 700027


def test_ps256_is_accepted(world: World) -> None:
    """PS256 is the other algorithm Entra accepts for certificate assertions."""
    assert _verify(world, _cert_assertion(world, alg="PS256")) == "certificate"


def test_sub_differing_from_client_id_is_700021(world: World) -> None:
    """`sub` must be the client id: anything else is AADSTS700021."""
    with pytest.raises(e.AssertionSubjectMismatch) as exc:
        _verify(world, _cert_assertion(world, sub=str(uuid.uuid4())))
    assert _code(exc) == 700021


def test_wrong_audience_is_700023(world: World) -> None:
    """An audience other than the token endpoint is AADSTS700023."""
    with pytest.raises(e.AssertionAudienceInvalid) as exc:
        _verify(world, _cert_assertion(world, aud="https://elsewhere.example/token"))
    assert _code(exc) == 700023


@pytest.mark.parametrize(
    ("aud", "accepted"),
    [
        (TOKEN_URL_AUDIENCE + "/", True),
        (TOKEN_URL_AUDIENCE.upper(), True),
        ([TOKEN_URL_AUDIENCE, "https://other"], True),
        (TOKEN_URL_AUDIENCE + "X", False),
        (TOKEN_URL_AUDIENCE[:-1], False),
        (["https://other"], False),
    ],
)
def test_audience_matching(world: World, aud: Any, accepted: bool) -> None:
    """The token endpoint matches with a trailing slash, in any case, or in a list; a longer or
    shorter URL does not (AADSTS700023)."""
    if accepted:
        assert _verify(world, _cert_assertion(world, aud=aud)) == "certificate"
        return
    with pytest.raises(e.AssertionAudienceInvalid) as exc:
        _verify(world, _cert_assertion(world, aud=aud))
    assert _code(exc) == 700023


def test_missing_exp_is_50027(world: World) -> None:
    """`exp` is required: an assertion without it is malformed."""
    with pytest.raises(e.MalformedJwt) as exc:
        _verify(world, _cert_assertion(world, exp=None))
    assert _code(exc) == 50027


@pytest.mark.parametrize("value", [True, "1700000000", -1, a.MAX_NUMERIC_DATE + 1])
def test_non_numeric_date_is_50027(world: World, value: Any) -> None:
    """A time claim that is not a NumericDate in .NET's range (bool, string, negative, too late) is 50027."""
    with pytest.raises(e.MalformedJwt) as exc:
        _verify(world, _cert_assertion(world, exp=value))
    assert _code(exc) == 50027


def test_max_numeric_date_is_accepted(world: World) -> None:
    """The last second .NET can hold is still a valid `exp`."""
    assert _verify(world, _cert_assertion(world, exp=a.MAX_NUMERIC_DATE)) == "certificate"


@pytest.mark.parametrize(
    ("exp_offset", "accepted"),
    [(-100, True), (-a.CLOCK_SKEW_S, True), (-a.CLOCK_SKEW_S - 1, False)],
)
def test_expiry_clock_skew_boundary(world: World, exp_offset: int, accepted: bool) -> None:
    """Expired within five minutes (inclusive) is accepted; one second past is AADSTS700024."""
    now = 1_800_000_000.0
    assertion = _cert_assertion(
        world, now=now, iat=int(now) - 3600, nbf=int(now) - 3600, exp=int(now) + exp_offset
    )
    if accepted:
        assert _verify(world, assertion, now=now) == "certificate"
        return
    with pytest.raises(e.AssertionTimeRange) as exc:
        _verify(world, assertion, now=now)
    assert _code(exc) == 700024
    # 1_800_000_000 is 1/15/2027 8:00:00 AM UTC: Entra's text names the times in that form.
    assert "Current time: 1/15/2027 8:00:00 AM, assertion valid from 1/15/2027 7:00:00 AM" in str(exc.value)


@pytest.mark.parametrize(
    ("claim", "start_offset", "accepted"),
    [
        ("nbf", 100, True),
        ("nbf", a.CLOCK_SKEW_S, True),
        ("nbf", a.CLOCK_SKEW_S + 1, False),
        ("iat", a.CLOCK_SKEW_S, True),
        ("iat", a.CLOCK_SKEW_S + 1, False),
    ],
)
def test_not_yet_valid_clock_skew_boundary(
    world: World, claim: str, start_offset: int, accepted: bool
) -> None:
    """Starting up to five minutes in the future (by `nbf`, else `iat`) is accepted; later is 700024."""
    now = 1_800_000_000.0
    times: dict[str, Any] = {"nbf": None, "iat": None, "exp": int(now) + 3600}
    times[claim] = int(now) + start_offset
    assertion = _cert_assertion(world, now=now, **times)
    if accepted:
        assert _verify(world, assertion, now=now) == "certificate"
        return
    with pytest.raises(e.AssertionTimeRange) as exc:
        _verify(world, assertion, now=now)
    assert _code(exc) == 700024


def test_unregistered_thumbprint_is_700027(world: World) -> None:
    """A thumbprint not registered on the app (and no x5c) is AADSTS700027 naming the thumbprint."""
    other = world.tenant.ca.issue("other")
    assertion = jwt.encode(
        _claims(world, time.time()), other.key, algorithm="RS256", headers={"x5t": x5t(other.certificate)}
    )
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, assertion)
    assert _code(exc) == 700027


def test_expired_registered_credential_is_700027(world: World) -> None:
    """A registered certificate outside its keyCredential window is refused as expired."""
    kc = world.app.key_credentials[0]
    kc.end = utcnow() - dt.timedelta(minutes=1)
    with pytest.raises(e.CertificateExpired) as exc:
        _verify(world, _cert_assertion(world))
    assert _code(exc) == 700027


def _s256(cert: x509.Certificate) -> str:
    return base64.urlsafe_b64encode(
        hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    ).decode()


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_registered_certificate_by_sha256_thumbprint_alone_is_accepted(world: World, alg: str) -> None:
    """x5t#S256 alone (no x5t, no x5c: nothing else could match) names a registered certificate."""
    claims = _claims(world, time.time())
    headers = {"x5t#S256": _s256(world.registered.certificate).rstrip("=")}
    assert (
        _verify(world, jwt.encode(claims, world.registered.key, algorithm=alg, headers=headers))
        == "certificate"
    )


def test_unknown_sha256_thumbprint_is_700027_naming_it(world: World) -> None:
    """An x5t#S256 of no registered certificate is refused, with that SHA-256 in upper-case hex."""
    other = world.tenant.ca.issue("unregistered")
    digest = hashlib.sha256(other.der).hexdigest().upper()
    assertion = jwt.encode(
        _claims(world, time.time()),
        other.key,
        algorithm="PS256",
        headers={"x5t#S256": _s256(other.certificate)},
    )
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, assertion)
    assert f"Thumbprint of key used by client: '{digest}'" in exc.value.text
    assert f"for app Id '{world.app.app_id}'" in exc.value.text


# -- subject name + issuer (x5c) ------------------------------------------------


def _der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _x5c_assertion(w: World, leaf: IssuedCertificate, chain: list[x509.Certificate]) -> str:
    return jwt.encode(
        _claims(w, time.time()),
        leaf.key,
        algorithm="RS256",
        headers={"x5t": x5t(leaf.certificate), "x5c": [_der_b64(c) for c in [leaf.certificate, *chain]]},
    )


def test_subject_name_issuer_leaf_from_tenant_ca_is_accepted(world: World) -> None:
    """A leaf with the trusted subject, issued by the tenant's CA and sent in x5c, is accepted."""
    leaf = world.tenant.ca.issue("assertion-test")
    assert _verify(world, _x5c_assertion(world, leaf, [])) == "certificate"


def test_subject_name_issuer_leaf_from_impostor_ca_is_700027(world: World) -> None:
    """A leaf whose issuer only carries the tenant CA's name (another key signed it) is not trusted."""
    impostor = CertificateAuthority(world.tenant.ca.certificate.subject.rfc4514_string().removeprefix("CN="))
    leaf = impostor.issue("assertion-test")
    assert leaf.certificate.issuer == world.tenant.ca.certificate.subject
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, leaf, [impostor.certificate]))
    assert _code(exc) == 700027


def test_subject_name_issuer_wrong_subject_is_700027(world: World) -> None:
    """A tenant-CA leaf whose subject is not trusted on the app is refused."""
    leaf = world.tenant.ca.issue("someone-else")
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, leaf, []))
    assert _code(exc) == 700027


def test_subject_name_issuer_expired_leaf_is_700027(world: World) -> None:
    """A trusted-subject leaf outside its validity is refused."""
    now = utcnow()
    leaf = world.tenant.ca.issue(
        "assertion-test", not_before=now - dt.timedelta(days=2), not_after=now - dt.timedelta(days=1)
    )
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, leaf, []))
    assert _code(exc) == 700027


def test_subject_name_issuer_garbage_x5c_is_700027(world: World) -> None:
    """An x5c entry that is not a DER certificate is refused, not a 500."""
    assertion = jwt.encode(
        _claims(world, time.time()), new_rsa_key(), algorithm="RS256", headers={"x5c": ["bm90IGEgY2VydA=="]}
    )
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, assertion)
    assert _code(exc) == 700027


def _trust_issuer(w: World, issuer: x509.Certificate) -> None:
    w.app.trusted_subjects = [TrustedSubject(SUBJECT, issuer.subject.rfc4514_string())]


def test_subject_name_issuer_chain_through_intermediate_is_accepted(world: World) -> None:
    """A leaf from an intermediate of the tenant CA is accepted when the trusted issuer names that
    intermediate (the leaf's direct issuer) and x5c carries it: Entra's rule for issuing CAs."""
    inter = intermediate_ca(world.tenant.ca, "devstack issuing CA")
    _trust_issuer(world, inter.certificate)
    leaf = inter.issue("assertion-test")
    assert _verify(world, _x5c_assertion(world, leaf, [inter.certificate])) == "certificate"


def test_subject_name_issuer_trusting_the_root_refuses_an_intermediate_leaf_700027(world: World) -> None:
    """A leaf from an intermediate is refused when the trusted issuer names the root: the issuer
    Entra matches is the leaf's direct issuer, not any CA above it."""
    inter = intermediate_ca(world.tenant.ca, "devstack issuing CA")
    leaf = inter.issue("assertion-test")
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, leaf, [inter.certificate]))
    assert _code(exc) == 700027


def test_subject_name_issuer_intermediate_not_sent_is_700027(world: World) -> None:
    """The emulator holds only the root: a leaf from a trusted intermediate without that intermediate
    in x5c does not chain, and is refused."""
    inter = intermediate_ca(world.tenant.ca, "devstack issuing CA")
    _trust_issuer(world, inter.certificate)
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, inter.issue("assertion-test"), []))
    assert _code(exc) == 700027


def test_subject_name_issuer_impostor_intermediate_is_700027(world: World) -> None:
    """An intermediate with the trusted intermediate's name but signed by another root is refused."""
    inter = intermediate_ca(world.tenant.ca, "devstack issuing CA")
    _trust_issuer(world, inter.certificate)
    impostor = intermediate_ca(CertificateAuthority(), "devstack issuing CA")
    leaf = impostor.issue("assertion-test")
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, leaf, [impostor.certificate]))
    assert _code(exc) == 700027


def test_subject_name_issuer_leaf_not_signed_by_its_intermediate_is_700027(world: World) -> None:
    """A leaf that names the trusted intermediate as issuer but was signed by another key is refused."""
    inter = intermediate_ca(world.tenant.ca, "devstack issuing CA")
    _trust_issuer(world, inter.certificate)
    forger = intermediate_ca(CertificateAuthority(), "devstack issuing CA")
    leaf = forger.issue("assertion-test")
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, leaf, [inter.certificate]))
    assert _code(exc) == 700027


@pytest.mark.parametrize("why", ["not a CA", "expired"])
def test_subject_name_issuer_intermediate_must_be_a_valid_ca_700027(world: World, why: str) -> None:
    """An intermediate that is not a CA certificate, or is outside its validity, breaks the chain."""
    past = utcnow() - dt.timedelta(hours=1)
    if why == "not a CA":
        inter = intermediate_ca(world.tenant.ca, "devstack issuing CA", ca=False)
    else:
        inter = intermediate_ca(world.tenant.ca, "devstack issuing CA", not_after=past)
    _trust_issuer(world, inter.certificate)
    leaf = inter.issue("assertion-test")
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, leaf, [inter.certificate]))
    assert _code(exc) == 700027


def test_subject_name_issuer_intermediate_without_basic_constraints_is_700027(world: World) -> None:
    """An intermediate with no BasicConstraints extension is not a CA: the chain is refused."""
    now = utcnow()
    key = new_rsa_key()
    bare = CertificateAuthority.__new__(CertificateAuthority)
    bare.key = key
    bare.certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "bare issuer")]))
        .issuer_name(world.tenant.ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(world.tenant.ca.key, hashes.SHA256())
    )
    _trust_issuer(world, bare.certificate)
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, bare.issue("assertion-test"), [bare.certificate]))
    assert _code(exc) == 700027


def test_subject_name_issuer_self_signed_issuer_with_the_trusted_name_is_700027(world: World) -> None:
    """A self-signed CA carrying the trusted issuer's name leads nowhere but to itself: refused."""
    inter = intermediate_ca(world.tenant.ca, "devstack issuing CA")
    _trust_issuer(world, inter.certificate)
    loop = CertificateAuthority("devstack issuing CA")
    with pytest.raises(e.CertificateNotRegistered) as exc:
        _verify(world, _x5c_assertion(world, loop.issue("assertion-test"), [loop.certificate]))
    assert _code(exc) == 700027


@pytest.mark.parametrize("claim", ["sub", "jti"])
def test_certificate_assertion_with_a_non_string_sub_or_jti_is_50027(world: World, claim: str) -> None:
    """A correctly signed assertion whose `sub` or `jti` is not a string is malformed (AADSTS50027)."""
    claims = _claims(world, time.time(), **{claim: 12345})
    headers = {"x5t": x5t(world.registered.certificate)}
    assertion = jwt.encode(claims, world.registered.key, algorithm="RS256", headers=headers)
    with pytest.raises(e.MalformedJwt) as exc:
        _verify(world, assertion)
    assert (_code(exc), exc.value.text) == (50027, "JWT token is invalid or malformed.")


# -- federated --------------------------------------------------------------------


def _federated(w: World, **overrides: Any) -> str:
    token, _ = w.tenant.issuer.issue(w.mi, TOKEN_EXCHANGE_AUDIENCE)
    if not overrides:
        return token
    claims = jwt.decode(token, options={"verify_signature": False}) | overrides
    return jwt.encode(claims, new_rsa_key(), algorithm="RS256", headers={"kid": w.tenant.issuer.kid})


def test_federated_assertion_from_trusted_issuer_is_accepted(world: World) -> None:
    """A token from the tenant for the federated credential's subject and audience is accepted."""
    assert _verify(world, _federated(world)) == "federated"


def test_federated_assertion_with_bad_signature_is_700027(world: World) -> None:
    """Right issuer, subject and audience but signed by another key: refused (AADSTS700027)."""
    forged = _federated(world, jti="forged")
    assert jwt.decode(forged, options={"verify_signature": False})["sub"] == world.mi.object_id
    with pytest.raises(e.AssertionSignatureInvalid) as exc:
        _verify(world, forged)
    assert _code(exc) == 700027


def test_federated_unknown_issuer_is_700211(world: World) -> None:
    """No federated credential for the issuer: AADSTS700211."""
    with pytest.raises(e.FederatedIssuerNotFound) as exc:
        _verify(world, _federated(world, iss="https://other.example/"))
    assert _code(exc) == 700211


def test_federated_unknown_subject_is_700213(world: World) -> None:
    """Issuer known, subject not: AADSTS700213."""
    with pytest.raises(e.FederatedSubjectNotFound) as exc:
        _verify(world, _federated(world, sub="someone-else"))
    assert _code(exc) == 700213


def test_federated_unknown_audience_is_700212(world: World) -> None:
    """Issuer and subject known, audience not: AADSTS700212."""
    with pytest.raises(e.FederatedAudienceNotFound) as exc:
        _verify(world, _federated(world, aud="api://other"))
    assert _code(exc) == 700212


@pytest.mark.parametrize(("age_past_expiry", "accepted"), [(200, True), (a.CLOCK_SKEW_S + 30, False)])
def test_federated_expiry_clock_skew(world: World, age_past_expiry: int, accepted: bool) -> None:
    """A federated token expired within five minutes is accepted; beyond is AADSTS700024."""
    lifetime = 3600
    token, _ = world.tenant.issuer.issue(
        world.mi, TOKEN_EXCHANGE_AUDIENCE, lifetime_s=lifetime, now=time.time() - lifetime - age_past_expiry
    )
    if accepted:
        assert _verify(world, token) == "federated"
        return
    with pytest.raises(e.AssertionTimeRange) as exc:
        _verify(world, token)
    assert _code(exc) == 700024
