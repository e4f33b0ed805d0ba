"""The context report's shape, from fake connections (pure formatting; test_context.py uses real ones)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from shared.config import CredentialKind
from shared.context import build_report, host_facts
from shared.context._facts import to_json
from shared.errors import AuthenticationFailedError, IdentityUnavailableError
from shared.identity import CertificateFacts, ConnectionFacts, ManagedIdentityFacts, Token
from shared.permissions import GRAPH, PermissionRegistry

_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.ZmFrZS1zaWduYXR1cmU"
_EXP = 1_900_000_000  # 2030-03-17T17:46:40Z
_SYSTEM = ManagedIdentityFacts(type="system-assigned", client_id=None, object_id=None, resource_id=None)


def _cert(name: str = "c", days_left: int = 300) -> CertificateFacts:
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return CertificateFacts(
        name=name,
        key_vault_version="v1",
        thumbprint_sha1="AB",
        thumbprint_sha256="CD",
        subject="CN=c",
        not_before=when,
        not_after=when + dt.timedelta(days=days_left),
        days_left=days_left,
        send_chain=False,
    )


@dataclass
class FakeConnection:
    name: str
    kind: CredentialKind
    roles: list[str] = field(default_factory=list)
    described: dict[str, Any] = field(default_factory=dict)
    fail: Exception | None = None
    delay_s: float = 0.0

    def token(self, resource: str) -> Token:
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail is not None:
            raise self.fail
        claims = {"oid": "oid-" + self.name, "tid": "tenant-1", "roles": self.roles, "aud": resource}
        return Token(_TOKEN, _EXP, claims)

    @property
    def facts(self) -> ConnectionFacts:
        fields: dict[str, Any] = {"tenant_id": None, "client_id": None, "managed_identity": _SYSTEM}
        fields.update(self.described)
        return ConnectionFacts(name=self.name, credential=self.kind, cloud="AzureCloud", **fields)


def _report(*conns: FakeConnection, registry: PermissionRegistry | None = None, **kw: Any) -> dict[str, Any]:
    by_name = {c.name: c for c in conns}
    return build_report(
        kw.pop("only", None),
        names=lambda: list(by_name),
        connect=by_name.__getitem__,
        requirements=registry or PermissionRegistry(),
        **kw,
    )


def test_certificate_facts_and_powershell_words() -> None:
    """A certificate connection shows its thumbprints, Key Vault version, expiry and Get-MgContext words."""
    conn = FakeConnection(
        "graph-cert",
        CredentialKind.CERTIFICATE,
        ["User.Read.All"],
        {"client_id": "app", CredentialKind.CERTIFICATE: _cert()},
    )
    entry = _report(conn)["connections"]["graph-cert"]
    assert entry["status"] == "ok"
    assert entry["authType"] == "AppOnly"
    assert entry["tokenCredentialType"] == "ClientCertificate"
    assert entry["environment"] == "Global"
    assert entry["certificate"]["keyVaultVersion"] == "v1"
    assert "version" not in entry["certificate"]
    assert entry["tokenExpiresOn"] == "2030-03-17T17:46:40Z"
    assert entry["resources"][GRAPH]["roles"] == ["User.Read.All"]
    assert entry["servicePrincipalObjectId"] == "oid-graph-cert"


def test_managed_identity_facts_are_shown_as_they_are() -> None:
    """A managed identity connection shows its identity facts field for field, and the token's oid."""
    identity = ManagedIdentityFacts(type="user-assigned", client_id="x", object_id="o", resource_id=None)
    conn = FakeConnection("mi", CredentialKind.MANAGED_IDENTITY, described={"managed_identity": identity})
    entry = _report(conn)["connections"]["mi"]
    assert entry["managedIdentity"] == {
        "type": "user-assigned",
        "clientId": "x",
        "objectId": "o",
        "resourceId": None,
    }
    assert entry["servicePrincipalObjectId"] == "oid-mi"
    assert entry["authType"] == "ManagedIdentity"
    assert entry["tokenCredentialType"] == "UserManagedIdentity"


def test_missing_role_degrades_with_a_grant_instruction() -> None:
    """A required role absent from the token is missing; the diagnosis says what to grant to whom."""
    reg = PermissionRegistry()
    reg.require("*", GRAPH, roles={"Organization.Read.All"}, by="context")
    reg.require("app", GRAPH, roles={"User.Read.All"}, by="job:stale-guests")
    conn = FakeConnection(
        "app", CredentialKind.CLIENT_SECRET, ["Organization.Read.All", "Group.Read.All"], {"client_id": "cid"}
    )
    entry = _report(conn, registry=reg)["connections"]["app"]
    graph = entry["resources"][GRAPH]
    assert graph["missing"] == ["User.Read.All"]
    assert graph["unused"] == ["Group.Read.All"]
    assert graph["required"] == {"Organization.Read.All": ["context"], "User.Read.All": ["job:stale-guests"]}
    assert entry["status"] == "degraded"
    assert entry["diagnosis"]["step"] == "permissions"
    assert "User.Read.All" in entry["diagnosis"]["fix"]
    assert "cid" in entry["diagnosis"]["fix"]
    assert "admin consent" in entry["diagnosis"]["fix"]


def test_a_required_non_graph_resource_gets_its_own_token() -> None:
    """Resources the code requires are reported next to Graph, each with its own roles."""
    reg = PermissionRegistry()
    reg.require("exo", "https://outlook.office365.com", roles={"Exchange.ManageAsApp"}, by="job:mailboxes")
    conn = FakeConnection("exo", CredentialKind.CERTIFICATE, ["Exchange.ManageAsApp"])
    resources = _report(conn, registry=reg)["connections"]["exo"]["resources"]
    assert set(resources) == {GRAPH, "exchange"}
    assert resources["exchange"]["missing"] == []


def test_broken_connection_does_not_break_the_others() -> None:
    """A failing connection is status error with its diagnosis; the others stay ok."""
    bad = FakeConnection(
        "bad",
        CredentialKind.CERTIFICATE,
        fail=AuthenticationFailedError(
            "Entra refused the certificate.", step="entra", status=401, code="AADSTS700027", hint="upload it"
        ),
    )
    report = _report(FakeConnection("good", CredentialKind.MANAGED_IDENTITY), bad)
    assert report["status"] == "error"
    assert report["connections"]["good"]["status"] == "ok"
    diagnosis = report["connections"]["bad"]["diagnosis"]
    assert diagnosis == {
        "step": "entra",
        "status": 401,
        "code": "AADSTS700027",
        "outage": False,
        "problem": "Entra refused the certificate.",
        "fix": "upload it",
    }


def test_outage_is_flagged() -> None:
    """An identity endpoint outage is an error with outage true."""
    down = IdentityUnavailableError(
        "The identity endpoint answered 500.", step="identity-endpoint", status=500
    )
    entry = _report(FakeConnection("mi", CredentialKind.MANAGED_IDENTITY, fail=down))["connections"]["mi"]
    assert entry["diagnosis"]["outage"] is True
    assert entry["diagnosis"]["step"] == "identity-endpoint"


def test_foreign_error_is_generic() -> None:
    """A foreign exception's text never reaches the report."""
    conn = FakeConnection("x", CredentialKind.CERTIFICATE, fail=RuntimeError("password=hunter2"))
    raw = json.dumps(_report(conn))
    assert "hunter2" not in raw
    assert "RuntimeError" in raw


def test_slow_connection_times_out_alone() -> None:
    """A connection slower than the deadline is an error; the fast one is ok and the report is on time."""
    started = time.monotonic()
    report = _report(
        FakeConnection("slow", CredentialKind.CERTIFICATE, delay_s=2),
        FakeConnection("fast", CredentialKind.CERTIFICATE),
        deadline_s=0.5,
    )
    assert time.monotonic() - started < 1.5
    assert report["connections"]["slow"]["diagnosis"]["step"] == "deadline"
    assert report["connections"]["fast"]["status"] == "ok"


def test_connections_are_checked_in_parallel() -> None:
    """Several slow connections take about as long as one."""
    barrier = threading.Barrier(3, timeout=2)

    class Waiting(FakeConnection):
        def token(self, resource: str) -> Token:
            barrier.wait()
            return super().token(resource)

    report = _report(*(Waiting(f"c{i}", CredentialKind.CERTIFICATE) for i in range(3)), deadline_s=5)
    assert [e["status"] for e in report["connections"].values()] == ["ok", "ok", "ok"]


def test_only_one_connection_by_name_in_any_case() -> None:
    """`only` selects one connection, matched case-insensitively."""
    report = _report(
        FakeConnection("a", CredentialKind.CERTIFICATE),
        FakeConnection("b", CredentialKind.CERTIFICATE),
        only="B",
    )
    assert list(report["connections"]) == ["b"]


def test_facts_are_serialized_field_for_field() -> None:
    """Every field of the facts dataclass appears once, camelCased, with datetimes in ISO form."""
    facts = FakeConnection("c", CredentialKind.CERTIFICATE, described={"certificate": _cert()}).facts
    out = to_json(facts)
    assert set(out) == {
        "name", "credential", "cloud", "tenantId", "clientId", "managedIdentity", "keyVaultUrl",
        "certificate", "secretName", "secretVersion", "secretExpires", "keyName", "keyId",
        "tokenExchangeAudience",
    }  # fmt: skip
    assert out["credential"] == "certificate"
    assert out["certificate"]["keyVaultVersion"] == "v1"
    assert out["certificate"]["notBefore"] == "2026-01-01T00:00:00+00:00"


def test_expiring_certificate_degrades() -> None:
    """A certificate with fewer than 30 days left makes the connection degraded with a warning."""
    conn = FakeConnection("c", CredentialKind.CERTIFICATE, described={"certificate": _cert(days_left=12)})
    entry = _report(conn)["connections"]["c"]
    assert entry["status"] == "degraded"
    assert any("12 day" in w for w in entry["warnings"])


def test_host_facts_from_app_service_variables() -> None:
    """Host facts name the app, region, a short instance id, Python and app versions and the cloud."""
    env = {"WEBSITE_SITE_NAME": "func-x", "REGION_NAME": "West Europe", "WEBSITE_INSTANCE_ID": "a" * 64}
    facts = host_facts(env)
    assert facts["appName"] == "func-x"
    assert facts["region"] == "West Europe"
    assert facts["instance"] == "a" * 12
    assert facts["cloud"] == "AzureCloud"
    assert facts["appVersion"]
