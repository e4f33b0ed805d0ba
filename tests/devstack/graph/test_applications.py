"""Graph emulator: POST /applications makes the signed-in creator an owner; users change only their apps."""

from __future__ import annotations

import base64

import requests
from cryptography.hazmat.primitives import serialization

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.pki import new_rsa_key
from tests.devstack.graph.support import DENIED, GRAPH, app_token, bearer, error


def _user(devstack: OfflineTenant, name: str, scopes: list[str]) -> dict[str, str]:
    """A delegated Graph token for `name` through the Azure CLI's public client."""
    tenant = devstack.tenant
    user = tenant.user(f"{name}@{tenant.default_domain}")
    cli = tenant.app_by_name("Microsoft Azure CLI")
    assert user is not None
    assert cli is not None
    token, _ = tenant.issuer.issue(user.principal(), GRAPH, scopes=scopes, azp=cli.app_id)
    return bearer(token)


def _key(devstack: OfflineTenant) -> dict[str, str]:
    issued = devstack.tenant.ca.issue("owned", key=new_rsa_key())
    der = issued.certificate.public_bytes(serialization.Encoding.DER)
    return {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der).decode()}


def test_a_user_creates_an_app_and_owns_it(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """201 with new ids; the creator owns it and may PATCH its keyCredentials; another user may not."""
    adele = _user(devstack, "adele.vance", ["Application.ReadWrite.All"])
    made = http.post(f"{graph}/applications", json={"displayName": "owned-app"}, headers=adele)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["displayName"] == "owned-app"
    assert body["keyCredentials"] == []
    app = devstack.tenant.app(body["appId"])
    assert app is not None
    adele_oid = devstack.tenant.user(f"adele.vance@{devstack.tenant.default_domain}")
    assert adele_oid is not None
    assert app.owners == [adele_oid.object_id]
    url = f"{graph}/applications/{body['id']}"
    alex = _user(devstack, "alex.wilber", ["Application.ReadWrite.All"])
    patch = {"keyCredentials": [_key(devstack)]}
    assert error(http.patch(url, json=patch, headers=alex)) == DENIED
    assert http.patch(url, json=patch, headers=adele).status_code == 204
    assert len(app.key_credentials) == 1
    read_only = _user(devstack, "adele.vance", ["Application.Read.All"])
    assert error(http.patch(url, json={"keyCredentials": []}, headers=read_only)) == DENIED
    with devstack.tenant.lock:
        devstack.tenant.apps.remove(app)


def test_creating_an_app_needs_a_write_permission_and_a_name(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """Read-only callers get 403; a missing displayName 400; an unknown property 400."""
    reader = bearer(app_token(devstack, roles=["Application.Read.All"]))
    assert error(http.post(f"{graph}/applications", json={"displayName": "x"}, headers=reader)) == DENIED
    writer = _user(devstack, "adele.vance", ["Application.ReadWrite.All"])
    missing = http.post(f"{graph}/applications", json={}, headers=writer)
    assert missing.status_code == 400
    assert error(missing)[1] == "Request_BadRequest"
    unknown = http.post(f"{graph}/applications", json={"displayName": "x", "color": "red"}, headers=writer)
    assert unknown.status_code == 400
    assert all(a.display_name != "x" for a in devstack.tenant.apps)


def test_the_seeded_app_is_owned_by_the_deployer(devstack: OfflineTenant) -> None:
    """entra-automation's owner is Adele Vance, who holds the deployer's vault roles."""
    tenant = devstack.tenant
    app = tenant.app_by_name("entra-automation")
    adele = tenant.user(f"adele.vance@{tenant.default_domain}")
    assert app is not None
    assert adele is not None
    assert app.owners == [adele.object_id]
    assert {"Key Vault Certificates Officer", "Key Vault Crypto User"} <= tenant.vault_roles[adele.object_id]
