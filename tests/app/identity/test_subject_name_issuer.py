"""A certificate connection whose Key Vault certificate comes from an issuing CA below the tenant
root: with SEND_CERTIFICATE_CHAIN the app sends leaf + issuing CA in x5c and Entra's subject name +
issuer trust accepts it; without, the certificate is not registered and Entra says 700027."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import TrustedSubject, sha1_hex
from shared import errors
from shared.identity import connection, reset_connections
from tests.app.certificates.issuers import ca_issued, new_issuer
from tests.app_env import app_connection, call_graph, configure
from tests.conftest import tls_session
from tests.devstack.support import intermediate_ca

GRAPH = "https://graph.microsoft.com"


@pytest.fixture
def issued_below_root(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new Key Vault certificate from an issuing CA, its subject trusted on the app with that CA."""
    inter = intermediate_ca(devstack.tenant.ca, "devstack issuing CA")
    name = f"sni-{uuid.uuid4().hex[:12]}"
    devstack.tenant.vault.import_certificate(name, inter.issue(name))
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    trusted = TrustedSubject(f"CN={name}", inter.certificate.subject.rfc4514_string())
    monkeypatch.setattr(app, "trusted_subjects", [*app.trusted_subjects, trusted])
    yield name
    reset_connections()


def test_the_chain_is_sent_and_trusted(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, issued_below_root: str
) -> None:
    """SEND_CERTIFICATE_CHAIN=true: a Graph token that Graph accepts, from an unregistered certificate."""
    fields = app_connection(
        devstack, "certificate", CERTIFICATE=issued_below_root, SEND_CERTIFICATE_CHAIN="true"
    )
    configure(monkeypatch, devstack, {"sni": fields})
    info = connection("sni").token(GRAPH)
    assert info.claims["aud"] == GRAPH
    assert call_graph(devstack, info.value).status_code == 200


def test_without_the_chain_the_certificate_is_unknown(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, issued_below_root: str
) -> None:
    """Without x5c Entra matches by thumbprint only: the certificate is not registered (700027)."""
    configure(
        monkeypatch, devstack, {"sni": app_connection(devstack, "certificate", CERTIFICATE=issued_below_root)}
    )
    with pytest.raises(errors.AuthenticationFailedError) as info:
        connection("sni").token(GRAPH)
    current = devstack.tenant.vault.latest_certificate(issued_below_root)
    assert current is not None
    assert (info.value.status, info.value.aadsts, info.value.step) == (401, 700027, "entra")
    assert f"Thumbprint of key used by client: '{sha1_hex(current.certificate)}'" in info.value.message


def _created_in_key_vault(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, issuer: str) -> str:
    """A certificate Key Vault creates through `issuer`, its subject and actual issuer trusted on the app."""
    name = f"sni-kv-{uuid.uuid4().hex[:10]}"
    ca_issued(devstack, issuer, f"CN={name}", exportable=True, name=name)
    version = devstack.tenant.vault.latest_certificate(name)
    app = devstack.tenant.app_by_name("entra-automation")
    assert version is not None
    assert app is not None
    leaf = version.certificate
    trusted = TrustedSubject(leaf.subject.rfc4514_string(), leaf.issuer.rfc4514_string())
    monkeypatch.setattr(app, "trusted_subjects", [*app.trusted_subjects, trusted])
    configure(
        monkeypatch,
        devstack,
        {"sni": app_connection(devstack, "certificate", CERTIFICATE=name, SEND_CERTIFICATE_CHAIN="true")},
    )
    return name


def test_a_key_vault_ca_issuer_makes_certificates_subject_name_and_issuer_trusts(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issued through a Key Vault CA issuer: the secret keeps the issuing CA, x5c carries it, Entra trusts
    the unregistered certificate (what lets renewals work with no key registered at all)."""
    with tls_session(devstack.state()["caBundle"]) as http:
        issuer = new_issuer(devstack, http)
    _created_in_key_vault(devstack, monkeypatch, issuer)
    info = connection("sni").token(GRAPH)
    assert call_graph(devstack, info.value).status_code == 200
    reset_connections()


def test_a_self_signed_key_vault_certificate_is_not_trusted_by_subject_name(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key Vault's Self issuer signs the leaf with its own key: nothing chains to a trusted root, so
    subject name + issuer refuses it even with its subject "trusted" (700027): Self needs the thumbprint."""
    _created_in_key_vault(devstack, monkeypatch, "Self")
    with pytest.raises(errors.AuthenticationFailedError) as info:
        connection("sni").token(GRAPH)
    assert (info.value.status, info.value.aadsts) == (401, 700027)
    reset_connections()
