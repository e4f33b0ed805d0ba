"""The managed identity endpoint (App Service 2019-08-01) through azure-identity and over raw http."""

from __future__ import annotations

import ssl
from typing import Any

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ManagedIdentityCredential

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import GRAPH_APP_ID, TOKEN_EXCHANGE_AUDIENCE, ManagedIdentity

GRAPH = "https://graph.microsoft.com"


def _identity(devstack: OfflineTenant, name: str) -> ManagedIdentity:
    return next(i for i in devstack.tenant.identities if i.name == name)


@pytest.fixture
def msi_env(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> OfflineTenant:
    monkeypatch.setenv("IDENTITY_ENDPOINT", devstack.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", devstack.identity_header)
    return devstack


@pytest.fixture(scope="module")
def jwks_client(devstack: OfflineTenant, ca_bundle: str) -> jwt.PyJWKClient:
    ctx = ssl.create_default_context(cafile=ca_bundle)
    url = f"{devstack.servers['entra'].url}/{devstack.tenant.tenant_id}/discovery/v2.0/keys"
    return jwt.PyJWKClient(url, ssl_context=ctx)


def _verify(token: str, audience: str, devstack: OfflineTenant, jwks: jwt.PyJWKClient) -> dict[str, Any]:
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], audience=audience, issuer=devstack.tenant.issuer_url
    )
    return claims


def _raw(devstack: OfflineTenant, params: dict[str, str], header: str | None) -> requests.Response:
    headers = {"Metadata": "true"}
    if header is not None:
        headers["X-IDENTITY-HEADER"] = header
    with requests.Session() as s:
        s.trust_env = False
        return s.get(
            devstack.identity_endpoint, params={"api-version": "2019-08-01", **params}, headers=headers
        )


def test_system_assigned_token_verifies(msi_env: OfflineTenant, jwks_client: jwt.PyJWKClient) -> None:
    """Without a client id the system-assigned identity gets a Graph token carrying its app roles."""
    token = ManagedIdentityCredential().get_token(f"{GRAPH}/.default")
    claims = _verify(token.token, GRAPH, msi_env, jwks_client)
    system = _identity(msi_env, "func-entra-automation")
    assert claims["oid"] == system.object_id
    assert claims["appid"] == system.client_id
    assert claims["roles"] == sorted(msi_env.tenant.roles_for(system.object_id, GRAPH_APP_ID))
    assert claims["idtyp"] == "app"
    assert token.expires_on > claims["iat"] + 3000


def test_user_assigned_by_client_id(msi_env: OfflineTenant, jwks_client: jwt.PyJWKClient) -> None:
    """`client_id` selects the assigned user-assigned identity, whose roles are in the token."""
    uami = _identity(msi_env, "id-entra-automation")
    token = ManagedIdentityCredential(client_id=uami.client_id).get_token("https://vault.azure.net/.default")
    claims = _verify(token.token, "https://vault.azure.net", msi_env, jwks_client)
    assert claims["oid"] == uami.object_id
    assert claims["xms_mirid"] == uami.resource_id
    graph = ManagedIdentityCredential(client_id=uami.client_id).get_token(f"{GRAPH}/.default")
    assert _verify(graph.token, GRAPH, msi_env, jwks_client)["roles"] == [
        "Organization.Read.All",
        "User.Read.All",
    ]


@pytest.mark.parametrize("key", ["object_id", "resource_id"])
def test_user_assigned_by_object_or_resource_id(
    msi_env: OfflineTenant, jwks_client: jwt.PyJWKClient, key: str
) -> None:
    """`identity_config` with object_id or resource_id (sent as mi_res_id) selects the same identity."""
    uami = _identity(msi_env, "id-entra-automation")
    value = uami.object_id if key == "object_id" else uami.resource_id
    token = ManagedIdentityCredential(identity_config={key: value}).get_token(f"{GRAPH}/.default")
    assert _verify(token.token, GRAPH, msi_env, jwks_client)["oid"] == uami.object_id


def test_token_exchange_assertion(msi_env: OfflineTenant, jwks_client: jwt.PyJWKClient) -> None:
    """The token-exchange resource yields the federated assertion whose sub is the identity's object id."""
    uami = _identity(msi_env, "id-entra-automation")
    token = ManagedIdentityCredential(client_id=uami.client_id).get_token(
        f"{TOKEN_EXCHANGE_AUDIENCE}/.default"
    )
    claims = _verify(token.token, TOKEN_EXCHANGE_AUDIENCE, msi_env, jwks_client)
    assert claims["sub"] == uami.object_id
    assert claims["iss"] == msi_env.tenant.issuer_url


def test_response_shape(devstack: OfflineTenant) -> None:
    """The answer has App Service's fields, with expires_on as a string of epoch seconds."""
    resp = _raw(devstack, {"resource": GRAPH}, devstack.identity_header)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert isinstance(body["expires_on"], str)
    assert body["expires_on"].isdigit()
    assert (body["resource"], body["token_type"]) == (GRAPH, "Bearer")


@pytest.mark.parametrize("header", [None, "wrong"])
def test_wrong_identity_header_is_401(devstack: OfflineTenant, header: str | None) -> None:
    """A missing or wrong X-IDENTITY-HEADER is refused with 401 before anything else is looked at."""
    resp = _raw(devstack, {"resource": GRAPH}, header)
    assert resp.status_code == 401
    assert resp.json()["statusCode"] == 401


def test_wrong_identity_header_through_sdk(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-identity surfaces a wrong header as an authentication failure, not a token."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", devstack.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential(retry_total=0).get_token(f"{GRAPH}/.default")


def test_unassigned_identity_is_400(msi_env: OfflineTenant) -> None:
    """An identity that exists but is not assigned to the app gets App Service's exact 400 body."""
    other = _identity(msi_env, "id-other-workload")
    resp = _raw(msi_env, {"resource": GRAPH, "client_id": other.client_id}, msi_env.identity_header)
    assert resp.status_code == 400
    assert resp.json() == {
        "statusCode": 400,
        "message": "No User Assigned or Delegated Managed Identity found for specified "
        "ClientId/ResourceId/PrincipalId.",
    }
    with pytest.raises(ClientAuthenticationError, match="No User Assigned"):
        ManagedIdentityCredential(client_id=other.client_id, retry_total=0).get_token(f"{GRAPH}/.default")


def test_unknown_resource_is_500(msi_env: OfflineTenant) -> None:
    """A resource Entra does not know gets the vague 500 (sic "occured") with a correlation id."""
    resp = _raw(msi_env, {"resource": "https://nothing.example"}, msi_env.identity_header)
    assert resp.status_code == 500
    body = resp.json()
    assert body["statusCode"] == 500
    assert body["message"] == "An unexpected error occured while fetching the AAD Token."
    assert len(body["correlationId"]) == 36


@pytest.mark.parametrize(
    "params",
    [{"api-version": "2017-09-01", "resource": GRAPH}, {"api-version": "2019-08-01"}],
)
def test_bad_api_version_or_missing_resource_is_400(devstack: OfflineTenant, params: dict[str, str]) -> None:
    """Another api-version or no resource is a 400 in the endpoint's body shape."""
    resp = _raw(devstack, params, devstack.identity_header)
    assert resp.status_code == 400
    assert resp.json()["statusCode"] == 400


def test_injected_fault_uses_endpoint_shape(devstack: OfflineTenant) -> None:
    """An injected 503 answers with statusCode/message and Retry-After, like the endpoint."""
    base = devstack.servers["identity"].url
    with requests.Session() as s:
        s.trust_env = False
        s.post(f"{base}/_devstack/faults", json={"match": "^/msi/", "status": 503, "retryAfter": 1})
    resp = _raw(devstack, {"resource": GRAPH}, devstack.identity_header)
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "1"
    assert resp.json()["statusCode"] == 503
