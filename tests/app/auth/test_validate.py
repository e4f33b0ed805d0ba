"""Caller-token validation against the devstack's Entra: every forgery refused, real v1/v2 tokens accepted."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.pki import b64url, new_rsa_key
from devstack.tenant.tokens import TokenIssuer
from shared.auth import (
    Caller,
    CallerKind,
    InvalidTokenError,
    SigningKeys,
    TokenPolicy,
    bearer_token,
    validate,
)
from shared.auth import _errors as reasons
from tests import caller_tokens as ct
from tests.app.auth.support import CountingFetch

OTHER_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _claims(devstack: OfflineTenant, **changes: Any) -> dict[str, Any]:
    """Claims a genuine v2 user token for our API would carry, with `changes` applied."""
    now = int(time.time())
    t = devstack.tenant
    claims: dict[str, Any] = {
        "aud": ct.API_APP,
        "iss": t.issuer.issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": t.tenant_id,
        "oid": str(uuid.uuid4()),
        "sub": str(uuid.uuid4()),
        "azp": ct.AZURE_CLI,
        "scp": "access_as_user",
        "idtyp": "user",
        "ver": "2.0",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256_with_public_key(devstack: OfflineTenant, claims: dict[str, Any]) -> str:
    """The classic algorithm confusion: HMAC keyed with the tenant's public key (PEM and JWK n)."""
    jwk = devstack.tenant.issuer.jwks()["keys"][0]
    numbers = devstack.tenant.issuer._key.public_key()
    pem = numbers.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


def _forgeries(devstack: OfflineTenant, authority: str) -> dict[str, str]:
    """Every forged or wrong token the validator must refuse, by name."""
    issuer = devstack.tenant.issuer
    real_kid = issuer.kid
    good = _claims(devstack)
    attacker = new_rsa_key()
    attacker_jwk = json.loads(RSAAlgorithm.to_jwk(attacker.public_key()))
    other_tenant_issuer = TokenIssuer(devstack.tenant.tenant_id, issuer.issuer)  # another key, same names
    now = int(time.time())
    return {
        "alg none": ct.unsigned(good, real_kid),
        "alg none, no signature dot": ct.unsigned(good, real_kid).rstrip("."),
        "HS256 keyed with the public key": _hs256_with_public_key(devstack, good),
        "RS256 with an unknown kid": ct.sign(good),
        "no kid": ct.sign(good, headers={}),
        "our kid, attacker's signature": ct.sign(good, headers={"kid": real_kid}, key=attacker),
        "key embedded in the header (jwk)": ct.sign(
            good, headers={"kid": attacker_jwk.get("kid", "k1"), "jwk": attacker_jwk}, key=attacker
        ),
        "key URL in the header (jku)": ct.sign(
            good, headers={"kid": "attacker", "jku": f"{authority}/attacker/keys"}, key=attacker
        ),
        "certificate URL in the header (x5u)": ct.sign(
            good, headers={"kid": "attacker", "x5u": "https://attacker.example/cert.pem"}, key=attacker
        ),
        "wrong audience": issuer.sign(_claims(devstack, aud="api://some-other-api")),
        "no audience": issuer.sign(_claims(devstack, aud=None)),
        "wrong issuer": issuer.sign(_claims(devstack, iss="https://evil.example/tenant/v2.0")),
        "v1 issuer on a v2 token": issuer.sign(_claims(devstack, iss=issuer.issuer_v1)),
        "other tenant": issuer.sign(
            _claims(
                devstack, tid=OTHER_TENANT, iss=issuer.issuer.replace(devstack.tenant.tenant_id, OTHER_TENANT)
            )
        ),
        "tid not a GUID": issuer.sign(_claims(devstack, tid="contoso.onmicrosoft.com")),
        "expired": issuer.sign(_claims(devstack, iat=now - 7200, nbf=now - 7200, exp=now - 600)),
        "not yet valid": issuer.sign(_claims(devstack, nbf=now + 600, iat=now + 600, exp=now + 4200)),
        "no exp": issuer.sign(_claims(devstack, exp=None)),
        "a Graph token": issuer.issue(
            devstack.tenant.user(ct.ADELE).principal(),  # type: ignore[union-attr]
            "https://graph.microsoft.com",
            scopes=["User.Read"],
        )[0],
        "right claims, another tenant's key": other_tenant_issuer.sign(good),
        "right claims, another tenant's key under our kid": other_tenant_issuer.sign(
            good, headers={"kid": real_kid}
        ),
        "malformed": "not.a.jwt",
        "two segments": "eyJhbGciOiJSUzI1NiJ9.e30",
        "empty": "",
    }


def test_every_forgery_is_refused(devstack: OfflineTenant, authority: str, policy: TokenPolicy) -> None:
    """Each forged or wrong token raises InvalidTokenError; 0 are accepted."""
    accepted: list[str] = []
    echoed: list[str] = []
    forgeries = _forgeries(devstack, authority)
    for name, token in forgeries.items():
        try:
            validate(token, policy)
        except InvalidTokenError as exc:
            if token and token in str(exc):  # the reason never echoes the token
                echoed.append(name)
        else:
            accepted.append(name)
    assert len(forgeries) >= 20
    assert accepted == []
    assert echoed == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("alg none", reasons.ALGORITHM),
        ("HS256 keyed with the public key", reasons.ALGORITHM),
        ("RS256 with an unknown kid", reasons.SIGNATURE),
        ("our kid, attacker's signature", reasons.SIGNATURE),
        ("key embedded in the header (jwk)", reasons.SIGNATURE),
        ("wrong audience", reasons.AUDIENCE),
        ("wrong issuer", reasons.ISSUER),
        ("other tenant", reasons.TENANT),
        ("expired", reasons.EXPIRED),
        ("not yet valid", reasons.NOT_YET_VALID),
        ("a Graph token", reasons.AUDIENCE),
        ("right claims, another tenant's key", reasons.SIGNATURE),
        ("malformed", reasons.MALFORMED),
        ("empty", reasons.MISSING),
    ],
)
def test_refusals_say_why(
    devstack: OfflineTenant, authority: str, policy: TokenPolicy, name: str, reason: str
) -> None:
    """The refusal names the failed check in a fixed sentence."""
    with pytest.raises(InvalidTokenError) as caught:
        validate(_forgeries(devstack, authority)[name], policy)
    assert caught.value.reason == reason


def test_header_keys_are_never_fetched(
    devstack: OfflineTenant, authority: str, policy: TokenPolicy, fetch: CountingFetch
) -> None:
    """A jku/x5u in the header is not followed: only the tenant's OpenID configuration and JWKS are read."""
    forged = _forgeries(devstack, authority)
    for name in ("key URL in the header (jku)", "certificate URL in the header (x5u)"):
        with pytest.raises(InvalidTokenError):
            validate(forged[name], policy)
    assert all("/.well-known/openid-configuration" in u or "/discovery/" in u for u in fetch.urls)


def test_valid_v2_user_token_is_accepted(v2_user_token: str, policy: TokenPolicy) -> None:
    """A v2 token from the device code flow is accepted; the caller is the user with scp and app roles."""
    claims = validate(v2_user_token, policy)
    assert claims["ver"] == "2.0"
    caller = Caller.from_claims(claims)
    assert caller.kind is CallerKind.USER
    assert caller.upn == ct.ADELE
    assert caller.scopes == {"access_as_user"}
    assert caller.roles == {"Sessions.Revoke", "GroupMembers.Manage"}
    assert caller.app_id == ct.AZURE_CLI


def test_valid_v1_user_token_is_accepted(
    v1_api: None, authority: str, tenant_id: str, ca_bundle: str, policy: TokenPolicy
) -> None:
    """With accessTokenAcceptedVersion 1, the v1 token (v1 issuer, api:// audience, appid) is accepted."""
    token = ct.user_token(authority, tenant_id, ca_bundle, ct.ALEX, fresh=True)
    raw = ct.decode(token)
    assert raw["ver"] == "1.0"
    assert raw["aud"] == f"api://{ct.API_APP}"
    assert raw["iss"].endswith(f"/{tenant_id}/")
    caller = Caller.from_claims(validate(token, policy))
    assert caller.kind is CallerKind.USER
    assert caller.app_id == ct.AZURE_CLI
    assert caller.upn == ct.ALEX


def test_app_only_caller_has_roles_and_no_scopes(
    devstack: OfflineTenant, authority: str, tenant_id: str, ca_bundle: str, policy: TokenPolicy
) -> None:
    """A caller app's client-credentials token is an app caller with its assigned app roles."""
    secret = devstack.tenant.vault.latest_secret("automation-caller-secret")
    assert secret is not None
    token = ct.app_token(authority, tenant_id, ca_bundle, ct.CALLER_APP, secret.value)
    caller = Caller.from_claims(validate(token, policy))
    assert caller.kind is CallerKind.APP
    assert caller.roles == {"Sessions.Revoke", "GroupMembers.Manage"}
    assert caller.scopes == frozenset()
    assert caller.app_id == ct.CALLER_APP
    assert caller.upn is None


def test_version_not_allowed_is_refused(v2_user_token: str, policy: TokenPolicy) -> None:
    """A policy accepting only v1 tokens refuses a v2 one."""
    only_v1 = TokenPolicy(policy.keys, policy.audiences, policy.tenants, versions=frozenset({"1.0"}))
    with pytest.raises(InvalidTokenError) as caught:
        validate(v2_user_token, only_v1)
    assert caught.value.reason == reasons.VERSION


def test_multi_tenant_substitutes_tid_and_checks_the_allow_list(
    authority: str, tenant_id: str, fetch: CountingFetch, v2_user_token: str
) -> None:
    """Multi-tenant: the issuer template gets the token's tid; tids off the allow-list are refused."""
    keys = SigningKeys(authority, "organizations", fetch=fetch)
    audiences = frozenset({ct.API_APP})
    assert "{tenantid}" in keys.issuer("2.0")
    claims = validate(v2_user_token, TokenPolicy(keys, audiences, frozenset({tenant_id, OTHER_TENANT})))
    assert claims["tid"] == tenant_id
    with pytest.raises(InvalidTokenError) as caught:
        validate(v2_user_token, TokenPolicy(keys, audiences, frozenset({OTHER_TENANT})))
    assert caught.value.reason == reasons.TENANT


def test_warm_validation_makes_no_network_call(
    v2_user_token: str, policy: TokenPolicy, fetch: CountingFetch
) -> None:
    """After the first validation, a hundred more read nothing from Entra."""
    validate(v2_user_token, policy)
    before = len(fetch.urls)
    for _ in range(100):
        validate(v2_user_token, policy)
    assert len(fetch.urls) == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer  abc.def.ghi ", "abc.def.ghi")],
)
def test_bearer_token_reads_the_authorization_header(value: str, expected: str) -> None:
    """The Bearer scheme is case-insensitive and the token is trimmed."""
    assert bearer_token(value) == expected


@pytest.mark.parametrize("value", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  "])
def test_bearer_token_missing(value: str | None) -> None:
    """No header, another scheme or an empty token is 'no bearer token'."""
    with pytest.raises(InvalidTokenError) as caught:
        bearer_token(value)
    assert caught.value.reason == reasons.MISSING
