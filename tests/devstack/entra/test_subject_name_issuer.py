"""Subject name + issuer through msal over TLS: a leaf from an issuing CA below the tenant root,
sent with its chain in x5c, gets a token when the app trusts that issuing CA, and is refused with
AADSTS700027 when the app trusts the root instead (docs/identity.md, "Subject name + issuer")."""

from __future__ import annotations

from typing import Any

import msal
import pytest
from cryptography.hazmat.primitives import serialization

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import AppRegistration, TrustedSubject, sha1_hex
from devstack.tenant.pki import IssuedCertificate
from tests.conftest import tls_session
from tests.devstack.support import intermediate_ca

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


@pytest.fixture
def app(devstack: OfflineTenant) -> AppRegistration:
    found = devstack.tenant.app_by_name("entra-automation")
    assert found is not None
    return found


def _token(
    devstack: OfflineTenant, ca_bundle: str, app: AppRegistration, leaf: IssuedCertificate, chain: bytes
) -> Any:
    credential = {
        "private_key": leaf.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "thumbprint": sha1_hex(leaf.certificate),
        "public_certificate": (leaf.certificate.public_bytes(serialization.Encoding.PEM) + chain).decode(),
    }
    cca = msal.ConfidentialClientApplication(
        app.app_id,
        client_credential=credential,
        authority=f"{devstack.servers['entra'].url}/{devstack.tenant.tenant_id}",
        instance_discovery=False,
        http_client=tls_session(ca_bundle),
    )
    return cca.acquire_token_for_client([GRAPH_DEFAULT])


@pytest.mark.parametrize(("trust", "accepted"), [("issuing CA", True), ("root", False)])
def test_chain_through_an_issuing_ca(
    devstack: OfflineTenant,
    ca_bundle: str,
    app: AppRegistration,
    monkeypatch: pytest.MonkeyPatch,
    trust: str,
    accepted: bool,
) -> None:
    """msal sends leaf + issuing CA in x5c: a token when the issuing CA is the trusted issuer, 700027
    when the trusted issuer is the root above it."""
    inter = intermediate_ca(devstack.tenant.ca, "devstack issuing CA")
    issuer = inter.certificate if trust == "issuing CA" else devstack.tenant.ca.certificate
    subject = "CN=sni-through-issuing-ca"
    monkeypatch.setattr(app, "trusted_subjects", [TrustedSubject(subject, issuer.subject.rfc4514_string())])
    leaf = inter.issue("sni-through-issuing-ca")
    result = _token(devstack, ca_bundle, app, leaf, inter.pem())
    if accepted:
        assert "access_token" in result, result
    else:
        assert result["error"] == "invalid_client"
        assert result["error_codes"] == [700027]
