"""GET /api/context against the offline tenant, through the real connections and SDKs."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes

from devstack.offline_tenant import OfflineTenant
from shared.identity import connection, reset_connections
from shared.permissions import GRAPH, registry
from tests.app.context.support import (
    APP_ID,
    APP_ROLES,
    KINDS,
    MI_CLIENT_ID,
    MI_OBJECT_ID,
    MI_ROLES,
    TENANT_ID,
    call_context,
    request_counts,
)
from tests.conftest import tls_session


def test_every_kind_reports_ok_with_its_facts(devstack: OfflineTenant, app_env: dict[str, str]) -> None:
    """Each of the five connection kinds is ok, with kind, tenant, client id and the seeded roles."""
    status, mimetype, report = call_context()
    assert (status, mimetype) == (200, "application/json")
    connections = report["connections"]
    assert {n: c["credential"] for n, c in connections.items()} == KINDS
    for name, entry in connections.items():
        assert entry["status"] == "ok", (name, entry.get("diagnosis"))
        assert entry["tenantId"] == TENANT_ID
        graph = entry["resources"][GRAPH]
        expected_roles = MI_ROLES if name == "graph_mi" else APP_ROLES
        assert graph["roles"] == expected_roles
        assert graph["missing"] == []
        assert graph["probe"]["tenantDisplayName"] == "Contoso (offline devstack)"
        assert entry["tokenExpiresOn"].endswith("Z")
    mi = connections["graph_mi"]
    assert mi["clientId"] == MI_CLIENT_ID
    assert mi["managedIdentity"] == {
        "type": "user-assigned",
        "clientId": MI_CLIENT_ID,
        "objectId": MI_OBJECT_ID,
        "resourceId": None,
    }
    assert (mi["authType"], mi["tokenCredentialType"]) == ("ManagedIdentity", "UserManagedIdentity")
    for name in ("graph_cert", "graph_secret", "graph_federated", "graph_kvkey"):
        assert connections[name]["clientId"] == APP_ID
        assert connections[name]["authType"] == "AppOnly"
        # The identity that reads Key Vault or signs the federated assertion, with its object id.
        assert connections[name]["managedIdentity"] == {
            "type": "user-assigned",
            "clientId": MI_CLIENT_ID,
            "objectId": MI_OBJECT_ID,
            "resourceId": None,
        }, name
    assert report["status"] == "ok"
    assert report["host"]["appVersion"]


def test_federated_connection_alone_reports_its_identity_object_id(app_env: dict[str, str]) -> None:
    """Reported on its own (no vault read before), the federated connection still shows the object id."""
    _, _, report = call_context("connection=graph_federated")
    entry = report["connections"]["graph_federated"]
    assert entry["status"] == "ok", entry.get("diagnosis")
    assert entry["managedIdentity"] == {
        "type": "user-assigned",
        "clientId": MI_CLIENT_ID,
        "objectId": MI_OBJECT_ID,
        "resourceId": None,
    }


def test_certificate_facts_match_the_vault(devstack: OfflineTenant, app_env: dict[str, str]) -> None:
    """Thumbprints, version and validity are those of the vault's latest certificate version."""
    _, _, report = call_context("connection=graph_cert")
    cert = report["connections"]["graph_cert"]["certificate"]
    latest = devstack.tenant.vault.latest_certificate("entra-automation-cert")
    assert latest is not None
    assert cert["name"] == "entra-automation-cert"
    assert cert["keyVaultVersion"] == latest.version
    assert cert["thumbprintSha1"].upper() == latest.certificate.fingerprint(hashes.SHA1()).hex().upper()
    assert cert["thumbprintSha256"].upper() == latest.certificate.fingerprint(hashes.SHA256()).hex().upper()
    assert cert["notAfter"].startswith(latest.certificate.not_valid_after_utc.date().isoformat())
    assert cert["daysLeft"] > 300
    assert report["connections"]["graph_cert"]["tokenCredentialType"] == "ClientCertificate"


def test_one_connection_by_name(app_env: dict[str, str]) -> None:
    """?connection=NAME reports that connection only, in any case."""
    status, _, report = call_context("connection=GRAPH_SECRET")
    assert status == 200
    assert list(report["connections"]) == ["graph_secret"]


def test_unknown_connection_is_a_404_problem_listing_the_names(app_env: dict[str, str]) -> None:
    """?connection=unknown answers 404 problem+json naming the configured connections."""
    status, mimetype, body = call_context("connection=unknown")
    assert (status, mimetype) == (404, "application/problem+json")
    assert body["status"] == 404
    assert body["connections"] == sorted(KINDS)
    assert "graph_cert" in body["detail"]
    assert body["instance"] == "/api/context"


def test_missing_required_role_is_reported(app_env: dict[str, str]) -> None:
    """A role the code requires but the identity lacks is missing, with what to grant to whom."""
    item = registry.require("graph_mi", GRAPH, roles={"Group.Read.All"}, by="job:group-report")
    try:
        _, _, report = call_context("connection=graph_mi")
    finally:
        registry.withdraw(item)
    entry = report["connections"]["graph_mi"]
    assert entry["status"] == "degraded"
    assert entry["resources"][GRAPH]["missing"] == ["Group.Read.All"]
    assert entry["resources"][GRAPH]["required"]["Group.Read.All"] == ["job:group-report"]
    assert entry["diagnosis"]["step"] == "permissions"
    assert MI_OBJECT_ID in entry["diagnosis"]["fix"]
    assert "Group.Read.All" in entry["diagnosis"]["fix"]


@pytest.mark.parametrize(
    ("setting", "value", "step"),
    [
        ("CONNECTIONS__GRAPH_CERT__CERTIFICATE", "no-such-certificate", "key-vault"),
        ("CONNECTIONS__GRAPH_MI__CLIENT_ID", "19969a66-8a43-406d-af87-c0b3ca2a33de", "identity-endpoint"),
        ("CONNECTIONS__GRAPH_SECRET__CLIENT_ID", "47e45fb1-bd02-4058-bf2b-d5eed521f357", "entra"),
    ],
)
def test_broken_connection_is_diagnosed_and_the_others_stay_ok(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, setting: str, value: str, step: str
) -> None:
    """A broken connection is status error with a diagnosis naming the step; the others stay ok."""
    monkeypatch.setenv(setting, value)
    reset_connections()
    status, _, report = call_context()
    assert status == 200
    broken = setting.split("__")[1].lower()
    entry = report["connections"][broken]
    assert entry["status"] == "error"
    assert entry["diagnosis"]["step"] == step, entry["diagnosis"]
    assert entry["diagnosis"]["fix"]
    assert all(e["status"] == "ok" for n, e in report["connections"].items() if n != broken)
    assert report["status"] == "error"


def test_report_never_contains_credentials(devstack: OfflineTenant, app_env: dict[str, str]) -> None:
    """No token, secret value, private key, PFX or assertion appears in the response."""
    status, _, report = call_context()
    raw = json.dumps(report)
    assert status == 200
    vault = devstack.tenant.vault
    secret = vault.latest_secret("entra-automation-secret")
    pfx = vault.latest_secret("entra-automation-cert")
    assert secret is not None
    assert pfx is not None
    forbidden = [secret.value, pfx.value, pfx.value[:64], base64.b64decode(pfx.value)[:48].hex()]
    for name in KINDS:
        token = connection(name).token("https://graph.microsoft.com").value  # cached: same token
        forbidden += [token, token.split(".")[1], token.split(".")[2]]
    leaked = [f[:12] + "..." for f in forbidden if f and f in raw]
    assert leaked == []
    for marker in ("PRIVATE KEY", "BEGIN CERTIFICATE", "eyJ", "client_assertion", "access_token"):
        assert marker not in raw


def test_repeated_reports_make_no_identity_vault_or_entra_calls(
    devstack: OfflineTenant, app_env: dict[str, str], ca_bundle: str
) -> None:
    """After the first report, further reports cost no request to identity, Key Vault, Entra or Graph."""
    assert call_context()[2]["status"] == "ok"
    with tls_session(ca_bundle) as session:
        before = request_counts(devstack, session)
        for _ in range(3):
            call_context()
        after = request_counts(devstack, session)
    assert after == before


def test_graph_refusing_the_probe_names_the_role_to_grant(
    devstack: OfflineTenant, app_env: dict[str, str]
) -> None:
    """Graph answering 403 to the organization probe: error at step graph with the grant to make."""
    from tests.app_env import clear_faults, fault

    fault(devstack, "graph", match="/v1.0/organization", status=403, times=1)
    try:
        _, _, report = call_context("connection=graph_mi")
    finally:
        clear_faults(devstack)
    diagnosis = report["connections"]["graph_mi"]["diagnosis"]
    assert (diagnosis["step"], diagnosis["status"]) == ("graph", 403)
    assert diagnosis["fix"] == (
        "Grant Microsoft Graph application permission Organization.Read.All to the connection's service "
        "principal and grant admin consent (the context check reads the organization)."
    )
