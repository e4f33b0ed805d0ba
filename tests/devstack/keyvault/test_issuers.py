"""Certificate issuer objects with the real SDK: create, get, list, update, delete; no password comes back."""

from __future__ import annotations

import secrets

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.certificates import AdministratorContact, CertificateClient, CertificatePolicy

from devstack.offline_tenant import OfflineTenant
from tests.devstack.keyvault.conftest import API


def _name() -> str:
    return "issuer-" + secrets.token_hex(4)


def test_issuer_crud_with_the_sdk(client: CertificateClient, officer_http: requests.Session, kv: str) -> None:
    """Every issuer operation the SDK has works; `pwd` is stored, never returned (not even on the wire)."""
    name = _name()
    admin = AdministratorContact(
        first_name="Adele", last_name="Vance", email="adele@example.com", phone="555"
    )
    made = client.create_issuer(
        name,
        "DigiCert",
        account_id="acct-1",
        password="s3cret-pwd",
        organization_id="org-1",
        admin_contacts=[admin],
    )
    assert (made.name, made.provider, made.account_id, made.password) == (name, "DigiCert", "acct-1", None)
    assert made.id == f"{kv}/certificates/issuers/{name}"
    assert made.enabled is True
    assert made.organization_id == "org-1"
    assert [(a.first_name, a.email) for a in made.admin_contacts or []] == [("Adele", "adele@example.com")]

    raw = officer_http.get(f"{kv}/certificates/issuers/{name}", params=API)
    assert raw.status_code == 200
    body = raw.json()
    assert "s3cret-pwd" not in raw.text
    assert body["credentials"] == {"account_id": "acct-1"}
    assert body["org_details"]["zip"] == 0
    assert set(body["attributes"]) == {"enabled", "created", "updated"}

    assert name in {p.name for p in client.list_properties_of_issuers()}
    listed = officer_http.get(f"{kv}/certificates/issuers", params=API).json()
    assert {"id": made.id, "provider": "DigiCert"} in listed["value"]

    updated = client.update_issuer(name, enabled=False, provider="GlobalSign")
    assert (updated.provider, updated.enabled, updated.account_id) == ("GlobalSign", False, "acct-1")
    assert client.get_issuer(name).provider == "GlobalSign"

    gone = client.delete_issuer(name)
    assert gone.name == name
    with pytest.raises(ResourceNotFoundError) as caught:
        client.get_issuer(name)
    assert caught.value.error is not None
    assert (caught.value.error.code, caught.value.error.message) == (
        "CertificateIssuerNotFound",
        "Issuer not found",
    )


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("Self", {"provider": "DigiCert"}),
        ("unknown", {"provider": "DigiCert"}),
        ("no-provider", {}),
        ("bad-provider", {"provider": 5}),
        ("bad-admins", {"provider": "Test", "org_details": {"admin_details": "adele"}}),
        ("bad-enabled", {"provider": "Test", "attributes": {"enabled": "yes"}}),
    ],
)
def test_reserved_names_and_bad_bodies_are_bad_parameter(
    officer_http: requests.Session, kv: str, name: str, body: dict[str, object]
) -> None:
    """`Self` and `Unknown` are Key Vault's own issuers; `provider` is required."""
    r = officer_http.put(f"{kv}/certificates/issuers/{name}", params=API, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "BadParameter"


def test_unknown_issuers_are_404(client: CertificateClient, officer_http: requests.Session, kv: str) -> None:
    """Get, update and delete of a missing issuer, and a create naming one: 404 CertificateIssuerNotFound."""
    missing = _name()
    for method in ("GET", "PATCH", "DELETE"):
        r = officer_http.request(method, f"{kv}/certificates/issuers/{missing}", params=API, json={})
        assert r.status_code == 404
        assert r.json() == {"error": {"code": "CertificateIssuerNotFound", "message": "Issuer not found"}}
    policy = CertificatePolicy(issuer_name=missing, subject="CN=nobody")
    with pytest.raises(HttpResponseError) as caught:
        client.begin_create_certificate("no-issuer-" + secrets.token_hex(4), policy)
    assert caught.value.status_code == 404
    assert caught.value.error is not None
    assert caught.value.error.code == "CertificateIssuerNotFound"


def test_issuers_need_the_certificatecas_actions(
    http: requests.Session, kv: str, devstack: OfflineTenant
) -> None:
    """A reader may read issuers (Key Vault Reader's */read) but not write them: 403 ForbiddenByRbac."""
    mi = next(i for i in devstack.tenant.identities if i.name == "id-other-workload")
    roles = devstack.tenant.vault_roles.setdefault(mi.object_id, set())
    had = set(roles)
    roles.add("Key Vault Reader")
    try:
        token, _ = devstack.tenant.issuer.issue(mi.principal(), "https://vault.azure.net")
        headers = {"Authorization": f"Bearer {token}"}
        assert http.get(f"{kv}/certificates/issuers", params=API, headers=headers).status_code == 200
        r = http.put(
            f"{kv}/certificates/issuers/{_name()}", params=API, headers=headers, json={"provider": "Test"}
        )
        assert r.status_code == 403
        assert "Microsoft.KeyVault/vaults/certificatecas/write" in r.json()["error"]["message"]
    finally:
        roles.clear()
        roles.update(had)
