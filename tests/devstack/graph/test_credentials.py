"""Application credentials over HTTP: addKey/removeKey with proof of possession, addPassword, PATCH."""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from devstack.offline_tenant import OfflineTenant
from devstack.tenant import models as m
from devstack.tenant.pki import IssuedCertificate, new_rsa_key, x5t
from tests.devstack.graph.support import DENIED, app_token, bearer, error

AUD = "00000002-0000-0000-c000-000000000000"
MALFORMED = (401, "Authentication_MissingOrMalformed", "Access Token missing or malformed.")


class RollingApp:
    """A fresh app registration with one registered certificate whose private key the test holds."""

    def __init__(self, devstack: OfflineTenant) -> None:
        tenant = devstack.tenant
        self.tenant = tenant
        self.app = m.AppRegistration(
            app_id=str(uuid.uuid4()),
            object_id=str(uuid.uuid4()),
            sp_object_id=str(uuid.uuid4()),
            display_name=f"rolling-{uuid.uuid4().hex[:6]}",
        )
        self.current = tenant.ca.issue("rolling-current", key=new_rsa_key())
        tenant.add_certificate_credential(self.app, self.current.certificate)
        with tenant.lock:
            tenant.apps.append(self.app)
        token, _ = tenant.issuer.issue(self.app.principal(), "https://graph.microsoft.com", roles=[])
        self.headers = bearer(token)

    def proof(self, signer: IssuedCertificate | None = None, **claims: Any) -> str:
        signer = signer or self.current
        now = int(time.time())
        body = {"aud": AUD, "iss": self.app.object_id, "nbf": now, "exp": now + 600, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, signer.key, algorithm="RS256", headers={"x5t": x5t(signer.certificate)})

    def close(self) -> None:
        with self.tenant.lock:
            self.tenant.apps.remove(self.app)


@pytest.fixture
def rolling(devstack: OfflineTenant) -> Iterator[RollingApp]:
    app = RollingApp(devstack)
    yield app
    app.close()


def _key_body(issued: IssuedCertificate, proof: str) -> dict[str, Any]:
    der = issued.certificate.public_bytes(serialization.Encoding.DER)
    return {
        "keyCredential": {
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": base64.b64encode(der).decode(),
        },
        "passwordCredential": None,
        "proof": proof,
    }


def test_app_rolls_its_own_key_without_any_role(
    devstack: OfflineTenant, rolling: RollingApp, http: requests.Session, graph: str
) -> None:
    """addKey with a proof signed by the current certificate adds the key (no role needed for itself);
    removeKey with a proof removes the old one."""
    new = devstack.tenant.ca.issue("rolling-next", key=new_rsa_key())
    url = f"{graph}/applications/{rolling.app.object_id}"
    added = http.post(f"{url}/addKey", json=_key_body(new, rolling.proof()), headers=rolling.headers)
    assert added.status_code == 200, added.text
    key = added.json()
    assert key["@odata.context"].endswith("$metadata#microsoft.graph.keyCredential")
    assert key["customKeyIdentifier"] == new.sha1_thumbprint
    assert (key["type"], key["usage"], key["key"]) == ("AsymmetricX509Cert", "Verify", None)
    assert [k.thumbprint for k in rolling.app.key_credentials] == [
        rolling.current.sha1_thumbprint,
        new.sha1_thumbprint,
    ]
    old_id = rolling.app.key_credentials[0].key_id
    # The new certificate is current now: it may sign the proof that removes the old one.
    removed = http.post(
        f"{url}/microsoft.graph.removeKey",
        json={"keyId": old_id, "proof": rolling.proof(new)},
        headers=rolling.headers,
    )
    assert removed.status_code == 204, removed.text
    assert [k.thumbprint for k in rolling.app.key_credentials] == [new.sha1_thumbprint]


@pytest.mark.parametrize(
    "case",
    ["wrong-audience", "graph-audience", "wrong-issuer", "eleven-minutes", "expired", "not-yet", "missing"],
)
def test_bad_proofs_are_refused(
    devstack: OfflineTenant, rolling: RollingApp, http: requests.Session, graph: str, case: str
) -> None:
    """A proof for another audience or issuer, over 10 minutes, outside its time or absent is Graph's 401."""
    now = int(time.time())
    proofs = {
        "wrong-audience": rolling.proof(aud="https://graph.microsoft.com"),
        "graph-audience": rolling.proof(aud="00000003-0000-0000-c000-000000000000"),
        "wrong-issuer": rolling.proof(iss=rolling.app.app_id),
        "eleven-minutes": rolling.proof(nbf=now, exp=now + 660),
        "expired": rolling.proof(nbf=now - 900, exp=now - 300),
        "not-yet": rolling.proof(nbf=now + 300, exp=now + 800),
        "missing": "",
    }
    new = devstack.tenant.ca.issue("rolling-refused", key=new_rsa_key())
    url = f"{graph}/applications/{rolling.app.object_id}/addKey"
    assert error(http.post(url, json=_key_body(new, proofs[case]), headers=rolling.headers)) == MALFORMED
    assert len(rolling.app.key_credentials) == 1


def test_proof_signed_by_an_unregistered_or_expired_key_is_refused(
    devstack: OfflineTenant, rolling: RollingApp, http: requests.Session, graph: str
) -> None:
    """A stranger's key, or an expired registered certificate, may not sign a proof: 401."""
    stranger = devstack.tenant.ca.issue("stranger", key=new_rsa_key())
    new = devstack.tenant.ca.issue("rolling-next", key=new_rsa_key())
    url = f"{graph}/applications/{rolling.app.object_id}/addKey"
    forged = rolling.proof(stranger)
    assert error(http.post(url, json=_key_body(new, forged), headers=rolling.headers)) == MALFORMED
    # The registered certificate, once expired, may no longer sign either.
    rolling.app.key_credentials[0].end = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert error(http.post(url, json=_key_body(new, rolling.proof()), headers=rolling.headers)) == MALFORMED


def test_add_key_for_another_app_needs_application_readwrite(
    devstack: OfflineTenant, rolling: RollingApp, http: requests.Session, graph: str
) -> None:
    """Another app calling addKey without Application.ReadWrite.All gets 403; with it, the proof decides."""
    new = devstack.tenant.ca.issue("rolling-next", key=new_rsa_key())
    url = f"{graph}/applications/{rolling.app.object_id}/addKey"
    body = _key_body(new, rolling.proof())
    stranger = bearer(app_token(devstack, roles=["Application.Read.All"]))
    assert error(http.post(url, json=body, headers=stranger)) == DENIED
    admin = bearer(app_token(devstack, roles=["Application.ReadWrite.All"]))
    assert http.post(url, json=body, headers=admin).status_code == 200


def test_add_and_remove_password(devstack: OfflineTenant, http: requests.Session, graph: str) -> None:
    """addPassword shows secretText once, reads only the hint; removePassword drops it; both need a role."""
    app = devstack.tenant.app_by_name("legacy-reporting")
    assert app is not None
    url = f"{graph}/applications/{app.object_id}"
    reader = bearer(app_token(devstack, roles=["Application.Read.All"]))
    body = {"passwordCredential": {"displayName": "rotation"}}
    assert error(http.post(f"{url}/addPassword", json=body, headers=reader)) == DENIED
    admin = bearer(app_token(devstack, roles=["Application.ReadWrite.All"]))
    created = http.post(f"{url}/addPassword", json=body, headers=admin)
    assert created.status_code == 200, created.text
    cred = created.json()
    assert len(cred["secretText"]) == 40
    assert cred["hint"] == cred["secretText"][:3]
    assert cred["displayName"] == "rotation"
    listed = http.get(url, headers=reader).json()["passwordCredentials"]
    (shown,) = [p for p in listed if p["keyId"] == cred["keyId"]]
    assert (shown["secretText"], shown["hint"]) == (None, cred["hint"])
    assert cred["secretText"] not in http.get(url, headers=reader).text
    gone = http.post(f"{url}/removePassword", json={"keyId": cred["keyId"]}, headers=admin)
    assert gone.status_code == 204
    assert cred["keyId"] not in {
        p["keyId"] for p in http.get(url, headers=reader).json()["passwordCredentials"]
    }
    again = http.post(f"{url}/removePassword", json={"keyId": cred["keyId"]}, headers=admin)
    assert error(again)[:2] == (404, "Request_ResourceNotFound")


def test_patch_key_credentials_replaces_the_collection(
    devstack: OfflineTenant, rolling: RollingApp, http: requests.Session, graph: str
) -> None:
    """PATCH keyCredentials (Application.ReadWrite.All) adds a certificate and keeps or drops the others."""
    new = devstack.tenant.ca.issue("deployed", key=new_rsa_key())
    der = base64.b64encode(new.certificate.public_bytes(serialization.Encoding.DER)).decode()
    old_id = rolling.app.key_credentials[0].key_id
    body = {
        "keyCredentials": [{"keyId": old_id}, {"type": "AsymmetricX509Cert", "usage": "Verify", "key": der}]
    }
    url = f"{graph}/applications/{rolling.app.object_id}"
    assert error(http.patch(url, json=body, headers=rolling.headers)) == DENIED
    admin = bearer(app_token(devstack, roles=["Application.ReadWrite.All"]))
    assert http.patch(url, json=body, headers=admin).status_code == 204
    assert [k.thumbprint for k in rolling.app.key_credentials] == [
        rolling.current.sha1_thumbprint,
        new.sha1_thumbprint,
    ]
    only_new = {"keyCredentials": [{"keyId": rolling.app.key_credentials[1].key_id}]}
    assert http.patch(url, json=only_new, headers=admin).status_code == 204
    assert [k.thumbprint for k in rolling.app.key_credentials] == [new.sha1_thumbprint]
    bad = {"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm90IGEgY2VydA=="}]}
    assert error(http.patch(url, json=bad, headers=admin)) == (
        400,
        "Request_BadRequest",
        "Invalid value specified for property 'key' of resource 'KeyCredential'.",
    )
