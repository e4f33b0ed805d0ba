"""Entra ID emulator: discovery, JWKS and the token endpoint through msal and azure-identity, with
Entra's exact AADSTS errors for what the real service refuses."""

from __future__ import annotations

import base64
import datetime as dt
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    CertificateCredential,
    ClientAssertionCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    OnBehalfOfCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import GRAPH_APP_ID, TOKEN_EXCHANGE_AUDIENCE, AppRegistration, sha1_hex
from devstack.tenant.pki import IssuedCertificate, b64url, new_rsa_key, x5t
from tests.conftest import tls_session

GRAPH = "https://graph.microsoft.com"
GRAPH_DEFAULT = f"{GRAPH}/.default"


@dataclass
class Cert:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    pfx: bytes

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def sha1_hex(self) -> str:
        return sha1_hex(self.cert)


def _from_issued(issued: IssuedCertificate) -> Cert:
    return Cert(issued.key, issued.certificate, issued.pfx())


@pytest.fixture(scope="module")
def app(devstack: OfflineTenant) -> AppRegistration:
    found = devstack.tenant.app_by_name("entra-automation")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def registered(devstack: OfflineTenant) -> Cert:
    """The app's registered certificate, read from the vault as the product would."""
    secret = devstack.tenant.vault.latest_secret("entra-automation-cert")
    assert secret is not None
    pfx = base64.b64decode(secret.value)
    key, cert, _ = pkcs12.load_key_and_certificates(pfx, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert cert is not None
    return Cert(key, cert, pfx)


@pytest.fixture(scope="module")
def client_secret(devstack: OfflineTenant) -> str:
    secret = devstack.tenant.vault.latest_secret("entra-automation-secret")
    assert secret is not None
    return secret.value


@pytest.fixture(scope="module")
def host(devstack: OfflineTenant) -> str:
    return devstack.servers["entra"].url


@pytest.fixture(scope="module")
def token_url(devstack: OfflineTenant, host: str) -> str:
    return f"{host}/{devstack.tenant.tenant_id}/oauth2/v2.0/token"


@pytest.fixture(scope="module")
def jwks_client(devstack: OfflineTenant, host: str, ca_bundle: str) -> jwt.PyJWKClient:
    ctx = ssl.create_default_context(cafile=ca_bundle)
    return jwt.PyJWKClient(f"{host}/{devstack.tenant.tenant_id}/discovery/v2.0/keys", ssl_context=ctx)


def _verify(token: str, audience: str, devstack: OfflineTenant, jwks: jwt.PyJWKClient) -> dict[str, Any]:
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], audience=audience, issuer=devstack.tenant.issuer_url
    )
    return claims


def _msal_app(
    devstack: OfflineTenant, host: str, ca: str, client_id: str, credential: Any
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{host}/{devstack.tenant.tenant_id}",
        instance_discovery=False,
        http_client=tls_session(ca),
    )


def _assertion(
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    client_id: str,
    aud: str,
    *,
    lifetime: int = 600,
    start: int = 0,
) -> str:
    now = int(time.time()) + start
    claims = {
        "aud": aud,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": x5t(cert)})


def _post_assertion(http: requests.Session, url: str, client_id: str, assertion: str) -> requests.Response:
    return http.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "scope": GRAPH_DEFAULT,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


def _assert_aadsts(resp: requests.Response, status: int, error: str, code: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-store, no-cache"
    body = resp.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: {text}")
    assert " Trace ID: " in body["error_description"]
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={code}"
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def _user_token(http: requests.Session, host: str, upn: str, **spec: Any) -> str:
    resp = http.post(f"{host}/_devstack/users/{upn}/token", json=spec)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


# -- discovery -----------------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["id", "domain"])
def test_openid_configuration(
    devstack: OfflineTenant, http: requests.Session, host: str, segment: str
) -> None:
    """The v2.0 OpenID document answers for the tenant id and its domain, naming the tenant-id endpoints."""
    t = devstack.tenant
    name = t.tenant_id if segment == "id" else t.default_domain
    doc = http.get(f"{host}/{name}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == t.issuer_url
    assert doc["token_endpoint"] == f"{host}/{t.tenant_id}/oauth2/v2.0/token"
    assert doc["jwks_uri"] == f"{host}/{t.tenant_id}/discovery/v2.0/keys"
    assert doc["authorization_endpoint"] == f"{host}/{t.tenant_id}/oauth2/v2.0/authorize"
    keys = http.get(doc["jwks_uri"]).json()["keys"]
    assert t.issuer.kid in {key["kid"] for key in keys}


def test_common_discovery_has_template_issuer(http: requests.Session, host: str) -> None:
    """The /common document publishes the `{tenantid}` template issuer, as Entra's does."""
    doc = http.get(f"{host}/common/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{host}/{{tenantid}}/v2.0"
    assert doc["token_endpoint"] == f"{host}/common/oauth2/v2.0/token"


def test_unknown_tenant_is_90002(http: requests.Session, host: str) -> None:
    """An unknown tenant in the discovery URL is a 400 AADSTS90002 in Entra's error shape."""
    resp = http.get(f"{host}/{uuid.uuid4()}/v2.0/.well-known/openid-configuration")
    _assert_aadsts(resp, 400, "invalid_request", 90002, "Tenant '")


# -- client credentials: certificate ---------------------------------------------------------


def test_msal_certificate_thumbprint(
    devstack: OfflineTenant,
    host: str,
    ca_bundle: str,
    app: AppRegistration,
    registered: Cert,
    jwks_client: jwt.PyJWKClient,
) -> None:
    """msal's thumbprint mode (RS256 + x5t) gets a Graph token carrying the app's roles."""
    cca = _msal_app(
        devstack,
        host,
        ca_bundle,
        app.app_id,
        {"private_key": registered.key_pem, "thumbprint": registered.sha1_hex},
    )
    result = cca.acquire_token_for_client([GRAPH_DEFAULT])
    assert "access_token" in result, result
    claims = _verify(result["access_token"], GRAPH, devstack, jwks_client)
    assert claims["oid"] == app.sp_object_id
    assert claims["azp"] == app.app_id
    assert claims["roles"] == sorted(devstack.tenant.roles_for(app.sp_object_id, GRAPH_APP_ID))
    assert claims["idtyp"] == "app"
    assert (claims["azpacr"], claims["appidacr"]) == ("2", "2")  # certificate


def test_msal_subject_name_issuer(
    devstack: OfflineTenant, host: str, ca_bundle: str, app: AppRegistration
) -> None:
    """A new CA-issued certificate with the trusted subject works only when x5c is sent (SN+I)."""
    rotated = _from_issued(devstack.tenant.ca.issue("entra-automation"))
    sni = {
        "private_key": rotated.key_pem,
        "thumbprint": rotated.sha1_hex,
        "public_certificate": rotated.cert_pem,
    }
    result = _msal_app(devstack, host, ca_bundle, app.app_id, sni).acquire_token_for_client([GRAPH_DEFAULT])
    assert "access_token" in result, result
    plain = {"private_key": rotated.key_pem, "thumbprint": rotated.sha1_hex}
    refused = _msal_app(devstack, host, ca_bundle, app.app_id, plain).acquire_token_for_client(
        [GRAPH_DEFAULT]
    )
    assert refused["error"] == "invalid_client"
    assert refused["error_codes"] == [700027]


def test_msal_ps256_with_sha256_thumbprint(
    devstack: OfflineTenant, host: str, ca_bundle: str, app: AppRegistration, registered: Cert
) -> None:
    """msal's PS256 mode (x5t#S256 + x5c, no SHA-1 thumbprint) is accepted for a registered certificate."""
    cred = {"private_key": registered.key_pem, "public_certificate": registered.cert_pem}
    result = _msal_app(devstack, host, ca_bundle, app.app_id, cred).acquire_token_for_client([GRAPH_DEFAULT])
    assert "access_token" in result, result


def test_certificate_credential(
    devstack: OfflineTenant, host: str, ca_bundle: str, app: AppRegistration, registered: Cert
) -> None:
    """azure-identity's CertificateCredential with the vault's PFX gets a token."""
    cred = CertificateCredential(
        devstack.tenant.tenant_id,
        app.app_id,
        certificate_data=registered.pfx,
        authority=host,
        disable_instance_discovery=True,
        connection_verify=ca_bundle,
    )
    assert cred.get_token(GRAPH_DEFAULT).token


def test_unknown_certificate_is_700027(
    devstack: OfflineTenant, host: str, ca_bundle: str, app: AppRegistration
) -> None:
    """A CA-issued certificate that is not registered (and not a trusted subject) is refused with 700027."""
    intruder = _from_issued(devstack.tenant.ca.issue("intruder"))
    cred = {
        "private_key": intruder.key_pem,
        "thumbprint": intruder.sha1_hex,
        "public_certificate": intruder.cert_pem,
    }
    result = _msal_app(devstack, host, ca_bundle, app.app_id, cred).acquire_token_for_client([GRAPH_DEFAULT])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]
    assert "is not registered on application" in result["error_description"]
    assert intruder.sha1_hex in result["error_description"]


def test_expired_certificate_is_700027(devstack: OfflineTenant, host: str, ca_bundle: str) -> None:
    """A registered certificate past its end date is refused with 700027 "The key used is expired."."""
    legacy = devstack.tenant.app_by_name("legacy-reporting")
    assert legacy is not None
    now = dt.datetime.now(dt.UTC)
    expired = _from_issued(
        devstack.tenant.ca.issue(
            "legacy-reporting-old",
            not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=1),
        )
    )
    devstack.tenant.add_certificate_credential(legacy, expired.cert)
    try:
        cred = {"private_key": expired.key_pem, "thumbprint": expired.sha1_hex}
        result = _msal_app(devstack, host, ca_bundle, legacy.app_id, cred).acquire_token_for_client(
            [GRAPH_DEFAULT]
        )
    finally:
        assert devstack.tenant.remove_certificate_credential(legacy, expired.sha1_hex)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]
    description = result["error_description"]
    assert description.startswith(
        "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired., "
        f"Thumbprint of key used by client: '{expired.sha1_hex}', Found key 'Start="
    )
    end = expired.cert.not_valid_after_utc
    assert f"End={end:%m/%d/%Y %H:%M:%S}'" in description
    assert f"for app Id '{legacy.app_id}'" in description
    assert "access_token" not in result


def test_tampered_assertion_is_refused(
    http: requests.Session, token_url: str, app: AppRegistration, registered: Cert
) -> None:
    """An assertion naming the registered certificate but signed by another key fails signature checks."""
    forged = _assertion(new_rsa_key(), registered.cert, app.app_id, token_url)
    resp = _post_assertion(http, token_url, app.app_id, forged)
    _assert_aadsts(resp, 401, "invalid_client", 700027, "Client assertion failed signature validation.")


def test_expired_assertion_is_700024(
    http: requests.Session, token_url: str, app: AppRegistration, registered: Cert
) -> None:
    """An assertion that expired beyond the five-minute skew is refused with 700024."""
    old = _assertion(registered.key, registered.cert, app.app_id, token_url, start=-1500)
    resp = _post_assertion(http, token_url, app.app_id, old)
    _assert_aadsts(
        resp, 401, "invalid_client", 700024, "Client assertion is not within its valid time range."
    )


def test_small_clock_skew_is_tolerated(
    http: requests.Session, token_url: str, app: AppRegistration, registered: Cert
) -> None:
    """An assertion valid from two minutes in the future is accepted (clock skew)."""
    ahead = _assertion(registered.key, registered.cert, app.app_id, token_url, start=120)
    assert _post_assertion(http, token_url, app.app_id, ahead).status_code == 200


def test_wrong_audience_is_refused(
    http: requests.Session, token_url: str, app: AppRegistration, registered: Cert
) -> None:
    """An assertion whose aud is not this tenant's token endpoint is refused with 700023."""
    other = _assertion(
        registered.key, registered.cert, app.app_id, "https://login.microsoftonline.com/x/oauth2/v2.0/token"
    )
    resp = _post_assertion(http, token_url, app.app_id, other)
    _assert_aadsts(resp, 401, "invalid_client", 700023, "Client assertion audience claim does not match")


@pytest.mark.parametrize("aud_form", ["v1", "authority", "domain"])
def test_other_audience_forms_are_accepted(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    token_url: str,
    app: AppRegistration,
    registered: Cert,
    aud_form: str,
) -> None:
    """The v1 token endpoint, the authority URL and the domain form are valid audiences, as in Entra."""
    t = devstack.tenant
    aud = {
        "v1": f"{host}/{t.tenant_id}/oauth2/token",
        "authority": f"{host}/{t.tenant_id}/",
        "domain": f"{host}/{t.default_domain}/oauth2/v2.0/token",
    }[aud_form]
    assertion = _assertion(registered.key, registered.cert, app.app_id, aud)
    assert _post_assertion(http, token_url, app.app_id, assertion).status_code == 200


def test_reused_assertion_and_unpadded_x5t_are_accepted(
    http: requests.Session, token_url: str, app: AppRegistration, registered: Cert
) -> None:
    """A reused jti is not refused (msal reuses assertions) and x5t may be unpadded."""
    assertion = _assertion(registered.key, registered.cert, app.app_id, token_url)
    assert "=" not in jwt.get_unverified_header(assertion)["x5t"]
    for _ in range(2):
        assert _post_assertion(http, token_url, app.app_id, assertion).status_code == 200


# -- client credentials: secret, app, scope ------------------------------------------------------


def test_msal_and_azure_identity_with_secret(
    devstack: OfflineTenant, host: str, ca_bundle: str, app: AppRegistration, client_secret: str
) -> None:
    """A client secret from the vault works with msal and with ClientSecretCredential (azpacr "1")."""
    result = _msal_app(devstack, host, ca_bundle, app.app_id, client_secret).acquire_token_for_client(
        [GRAPH_DEFAULT]
    )
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert (claims["azpacr"], claims["appidacr"]) == ("1", "1")
    cred = ClientSecretCredential(
        devstack.tenant.tenant_id,
        app.app_id,
        client_secret,
        authority=host,
        disable_instance_discovery=True,
        connection_verify=ca_bundle,
    )
    assert cred.get_token("https://vault.azure.net/.default").token


def test_wrong_secret_is_7000215(http: requests.Session, token_url: str, app: AppRegistration) -> None:
    """A wrong client secret is a 401 invalid_client AADSTS7000215 naming the app."""
    resp = http.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": app.app_id,
            "client_secret": "not-the-secret",
            "scope": GRAPH_DEFAULT,
        },
    )
    _assert_aadsts(resp, 401, "invalid_client", 7000215, "Invalid client secret provided.")
    assert f"app '{app.app_id}'" in resp.json()["error_description"]


def test_expired_secret_is_refused(devstack: OfflineTenant, http: requests.Session, token_url: str) -> None:
    """A password credential past its end date is refused like a wrong one (7000215)."""
    legacy = devstack.tenant.app_by_name("legacy-reporting")
    assert legacy is not None
    cred = devstack.tenant.add_password_credential(legacy, "expired", days=-1)
    try:
        form = {"grant_type": "client_credentials", "client_id": legacy.app_id, "client_secret": cred.secret}
        resp = http.post(token_url, data={**form, "scope": GRAPH_DEFAULT})
        _assert_aadsts(resp, 401, "invalid_client", 7000215, "Invalid client secret provided.")
    finally:
        legacy.password_credentials.remove(cred)


def test_error_echoes_client_request_id(http: requests.Session, token_url: str, app: AppRegistration) -> None:
    """The error's correlation id is the caller's client-request-id, as msal logs expect."""
    request_id = str(uuid.uuid4())
    form = {"grant_type": "client_credentials", "client_id": app.app_id, "client_secret": "x"}
    resp = http.post(
        token_url, data={**form, "scope": GRAPH_DEFAULT}, headers={"client-request-id": request_id}
    )
    assert resp.json()["correlation_id"] == request_id
    assert f"Correlation ID: {request_id}" in resp.json()["error_description"]


def test_wrong_secret_through_azure_identity(
    devstack: OfflineTenant, host: str, ca_bundle: str, app: AppRegistration
) -> None:
    """ClientSecretCredential surfaces the AADSTS code of a wrong secret."""
    cred = ClientSecretCredential(
        devstack.tenant.tenant_id,
        app.app_id,
        "nope",
        authority=host,
        disable_instance_discovery=True,
        connection_verify=ca_bundle,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        cred.get_token(GRAPH_DEFAULT)


def test_unknown_app_is_700016(devstack: OfflineTenant, http: requests.Session, token_url: str) -> None:
    """An unknown client id is a 400 unauthorized_client AADSTS700016 naming app and tenant."""
    unknown = str(uuid.uuid4())
    resp = http.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": unknown,
            "client_secret": "x",
            "scope": GRAPH_DEFAULT,
        },
    )
    _assert_aadsts(
        resp,
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{unknown}' was not found in the directory "
        f"'{devstack.tenant.tenant_id}'.",
    )


def test_scope_without_default_is_1002012(
    devstack: OfflineTenant, host: str, ca_bundle: str, app: AppRegistration, client_secret: str
) -> None:
    """Client credentials with a delegated-style scope are refused with 1002012 (msal returns the error)."""
    result = _msal_app(devstack, host, ca_bundle, app.app_id, client_secret).acquire_token_for_client(
        [f"{GRAPH}/User.Read"]
    )
    assert result["error"] == "invalid_scope"
    assert result["error_codes"] == [1002012]


def test_two_resources_in_scope_is_70011(
    http: requests.Session, token_url: str, app: AppRegistration, client_secret: str
) -> None:
    """Client credentials for two resources at once are refused with invalid_scope AADSTS70011."""
    scope = f"{GRAPH_DEFAULT} https://vault.azure.net/.default"
    form = {"grant_type": "client_credentials", "client_id": app.app_id, "client_secret": client_secret}
    resp = http.post(token_url, data={**form, "scope": scope})
    _assert_aadsts(resp, 400, "invalid_scope", 70011, "The provided value for the input parameter 'scope'")


def test_get_on_token_endpoint_is_900561(http: requests.Session, token_url: str) -> None:
    """The token endpoint only accepts POST, and says so in Entra's words."""
    resp = http.get(token_url)
    _assert_aadsts(resp, 400, "invalid_request", 900561, "The endpoint only accepts POST requests.")


def test_unknown_resource_is_500011(
    http: requests.Session, token_url: str, app: AppRegistration, client_secret: str
) -> None:
    """A /.default scope for an API the tenant does not know is a 400 invalid_resource AADSTS500011."""
    resp = http.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": app.app_id,
            "client_secret": client_secret,
            "scope": "https://nothing.example/.default",
        },
    )
    _assert_aadsts(
        resp,
        400,
        "invalid_resource",
        500011,
        "The resource principal named https://nothing.example was not found",
    )


def test_v1_endpoint_with_resource(
    devstack: OfflineTenant, http: requests.Session, host: str, app: AppRegistration, client_secret: str
) -> None:
    """The v1 token endpoint takes `resource` instead of `scope` and answers with the resource."""
    resp = http.post(
        f"{host}/{devstack.tenant.default_domain}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.app_id,
            "client_secret": client_secret,
            "resource": GRAPH,
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["resource"] == GRAPH


def test_injected_throttling_uses_entra_shape(
    devstack: OfflineTenant, http: requests.Session, host: str, token_url: str
) -> None:
    """An injected 429 answers with Entra's error body and Retry-After."""
    http.post(f"{host}/_devstack/faults", json={"match": "/oauth2/", "status": 429, "retryAfter": 2})
    resp = http.post(token_url, data={"grant_type": "client_credentials"})
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "2"
    assert resp.json()["error"] == "temporarily_unavailable"


# -- federated credential ------------------------------------------------------------------------


def _mi_assertion(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, client_id: str | None) -> str:
    monkeypatch.setenv("IDENTITY_ENDPOINT", devstack.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", devstack.identity_header)
    credential = ManagedIdentityCredential(client_id=client_id)
    return str(credential.get_token(f"{TOKEN_EXCHANGE_AUDIENCE}/.default").token)


def test_federated_credential_with_managed_identity(
    devstack: OfflineTenant,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    ca_bundle: str,
    app: AppRegistration,
    jwks_client: jwt.PyJWKClient,
) -> None:
    """The user-assigned identity's exchange token, as client assertion, gets the app's Graph token."""
    uami = devstack.user_assigned()
    cred = ClientAssertionCredential(
        devstack.tenant.tenant_id,
        app.app_id,
        lambda: _mi_assertion(devstack, monkeypatch, uami.client_id),
        authority=host,
        connection_verify=ca_bundle,
    )
    claims = _verify(cred.get_token(GRAPH_DEFAULT).token, GRAPH, devstack, jwks_client)
    assert claims["oid"] == app.sp_object_id
    assert (claims["azpacr"], claims["appidacr"]) == ("2", "2")  # a client assertion counts as a certificate
    exchange = jwt.decode(
        _mi_assertion(devstack, monkeypatch, uami.client_id), options={"verify_signature": False}
    )
    assert (exchange["azpacr"], exchange["appidacr"]) == ("2", "2")  # managed identity


def test_federated_subject_mismatch_is_700213(
    devstack: OfflineTenant,
    monkeypatch: pytest.MonkeyPatch,
    http: requests.Session,
    token_url: str,
    app: AppRegistration,
) -> None:
    """The system-assigned identity's token matches the issuer but not the subject: 700213."""
    assertion = _mi_assertion(devstack, monkeypatch, None)
    resp = _post_assertion(http, token_url, app.app_id, assertion)
    system = devstack.tenant.identity(system=True)
    assert system is not None
    _assert_aadsts(
        resp,
        401,
        "invalid_client",
        700213,
        f"No matching federated identity record found for presented assertion subject '{system.object_id}'.",
    )


def test_federated_unknown_issuer_is_700211(
    http: requests.Session, token_url: str, app: AppRegistration
) -> None:
    """An assertion from an issuer no federated credential names is refused with 700211."""
    now = int(time.time())
    foreign = jwt.encode(
        {
            "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:x/y",
            "aud": TOKEN_EXCHANGE_AUDIENCE,
            "iat": now,
            "exp": now + 600,
        },
        new_rsa_key(),
        algorithm="RS256",
    )
    resp = _post_assertion(http, token_url, app.app_id, foreign)
    _assert_aadsts(
        resp,
        401,
        "invalid_client",
        700211,
        "No matching federated identity record found for presented assertion issuer",
    )


# -- on-behalf-of ------------------------------------------------------------------------------


def test_on_behalf_of_with_azure_identity(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    ca_bundle: str,
    app: AppRegistration,
    client_secret: str,
    jwks_client: jwt.PyJWKClient,
) -> None:
    """A user token for the app's API is exchanged for a delegated Graph token with the user's identity."""
    upn = f"adele.vance@{devstack.tenant.default_domain}"
    user_token = _user_token(http, host, upn, audience=f"api://{app.app_id}", scopes=["access_as_user"])
    cred = OnBehalfOfCredential(
        devstack.tenant.tenant_id,
        app.app_id,
        user_assertion=user_token,
        client_secret=client_secret,
        authority=host,
        disable_instance_discovery=True,
        connection_verify=ca_bundle,
    )
    claims = _verify(cred.get_token(f"{GRAPH}/User.Read").token, GRAPH, devstack, jwks_client)
    user = devstack.tenant.user(upn)
    assert user is not None
    assert (claims["oid"], claims["upn"], claims["idtyp"], claims["azp"]) == (
        user.object_id,
        upn,
        "user",
        app.app_id,
    )
    assert claims["scp"] == "User.Read"
    assert (claims["azpacr"], claims["appidacr"]) == ("1", "1")  # the middle tier used its secret


def test_on_behalf_of_with_msal_certificate(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    ca_bundle: str,
    app: AppRegistration,
    registered: Cert,
    jwks_client: jwt.PyJWKClient,
) -> None:
    """msal's acquire_token_on_behalf_of with a certificate gets every consented scope for /.default."""
    user_token = _user_token(
        http,
        host,
        f"alex.wilber@{devstack.tenant.default_domain}",
        audience=app.app_id,
        scopes=["access_as_user"],
    )
    cca = _msal_app(
        devstack,
        host,
        ca_bundle,
        app.app_id,
        {"private_key": registered.key_pem, "thumbprint": registered.sha1_hex},
    )
    result = cca.acquire_token_on_behalf_of(user_token, [GRAPH_DEFAULT])
    assert "access_token" in result, result
    claims = _verify(result["access_token"], GRAPH, devstack, jwks_client)
    consented = devstack.tenant.delegated_grants[app.app_id][GRAPH_APP_ID]
    assert claims["scp"] == " ".join(sorted(consented))


def _obo(
    http: requests.Session, token_url: str, app: AppRegistration, secret: str, assertion: str
) -> requests.Response:
    return http.post(
        token_url,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "requested_token_use": "on_behalf_of",
            "client_id": app.app_id,
            "client_secret": secret,
            "assertion": assertion,
            "scope": f"{GRAPH}/User.Read offline_access openid profile",
        },
    )


def test_on_behalf_of_other_audience_is_500131(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    token_url: str,
    app: AppRegistration,
    client_secret: str,
) -> None:
    """A user token for another API cannot be exchanged by this app: 400 invalid_grant AADSTS500131."""
    graph_token = _user_token(
        http, host, f"adele.vance@{devstack.tenant.default_domain}", audience=GRAPH, scopes=["User.Read"]
    )
    resp = _obo(http, token_url, app, client_secret, graph_token)
    _assert_aadsts(
        resp,
        400,
        "invalid_grant",
        500131,
        "Assertion audience does not match the Client app presenting the assertion.",
    )


def test_on_behalf_of_expired_is_500133(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    token_url: str,
    app: AppRegistration,
    client_secret: str,
) -> None:
    """An expired user token is refused with 400 invalid_grant AADSTS500133."""
    expired = _user_token(
        http,
        host,
        f"adele.vance@{devstack.tenant.default_domain}",
        audience=f"api://{app.app_id}",
        scopes=["access_as_user"],
        lifetime=-3600,
    )
    resp = _obo(http, token_url, app, client_secret, expired)
    _assert_aadsts(resp, 400, "invalid_grant", 500133, "Assertion isn't within its valid time range.")


def test_on_behalf_of_bad_signature_is_50013(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    token_url: str,
    app: AppRegistration,
    client_secret: str,
) -> None:
    """A user token whose signature was tampered with is refused with AADSTS50013."""
    good = _user_token(
        http,
        host,
        f"adele.vance@{devstack.tenant.default_domain}",
        audience=f"api://{app.app_id}",
        scopes=["access_as_user"],
    )
    head, body, _sig = good.split(".")
    tampered = f"{head}.{body}.{b64url(b'x' * 256)}"
    assert tampered != good
    resp = _obo(http, token_url, app, client_secret, tampered)
    _assert_aadsts(resp, 400, "invalid_grant", 50013, "Assertion failed signature validation.")


def test_on_behalf_of_surfaces_in_msal(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    ca_bundle: str,
    app: AppRegistration,
    client_secret: str,
) -> None:
    """msal returns the OBO refusal as a dict with error and error_codes."""
    graph_token = _user_token(
        http, host, f"adele.vance@{devstack.tenant.default_domain}", audience=GRAPH, scopes=["User.Read"]
    )
    result = _msal_app(devstack, host, ca_bundle, app.app_id, client_secret).acquire_token_on_behalf_of(
        graph_token, [f"{GRAPH}/User.Read"]
    )
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [500131]


def test_on_behalf_of_disabled_user_is_50057(
    devstack: OfflineTenant,
    http: requests.Session,
    host: str,
    token_url: str,
    app: AppRegistration,
    client_secret: str,
) -> None:
    """A disabled user's token cannot be exchanged: AADSTS50057."""
    upn = f"megan.bowen@{devstack.tenant.default_domain}"
    token = _user_token(http, host, upn, audience=f"api://{app.app_id}", scopes=["access_as_user"])
    resp = _obo(http, token_url, app, client_secret, token)
    _assert_aadsts(resp, 400, "invalid_grant", 50057, "The user account is disabled.")


def test_user_token_control_endpoint(
    devstack: OfflineTenant, http: requests.Session, host: str, jwks_client: jwt.PyJWKClient
) -> None:
    """The devstack control endpoint issues a verifiable user token; unknown users get 404."""
    upn = f"adele.vance@{devstack.tenant.default_domain}"
    token = _user_token(http, host, upn, audience="api://x", scopes=["a", "b"], lifetime=600)
    claims = _verify(token, "api://x", devstack, jwks_client)
    assert (claims["upn"], claims["scp"], claims["idtyp"]) == (upn, "a b", "user")
    assert (claims["azpacr"], claims["appidacr"]) == ("0", "0")  # as if from a public client
    assert claims["exp"] - claims["iat"] == 600
    assert http.post(f"{host}/_devstack/users/nobody@x/token", json={"audience": "a"}).status_code == 404


def test_token_issuer_client_auth_default_and_values(devstack: OfflineTenant) -> None:
    """`TokenIssuer.issue` keeps "2" for apps and "0" otherwise unless told, and refuses unknown values."""
    issuer = devstack.tenant.issuer
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    for client_auth, expected in ((None, "2"), ("1", "1"), ("0", "0")):
        token, _ = issuer.issue(app.principal(), "api://x", client_auth=client_auth)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert (claims["azpacr"], claims["appidacr"]) == (expected, expected)
    user = devstack.tenant.user(f"adele.vance@{devstack.tenant.default_domain}")
    assert user is not None
    token, _ = issuer.issue(user.principal(), "api://x")
    assert jwt.decode(token, options={"verify_signature": False})["azpacr"] == "0"
    with pytest.raises(ValueError, match="client_auth"):
        issuer.issue(app.principal(), "api://x", client_auth="3")
