"""The scale seed: N users, groups and apps with credentials, deterministic, spread over expiry dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import Tenant
from devstack.tenant.scale import ScaleFacts, add_scale
from devstack.tenant.seed import build_tenant
from tests.conftest import tls_session

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _scaled(n: int, seed: int) -> tuple[Tenant, ScaleFacts]:
    tenant = build_tenant("https://127.0.0.1:1")
    return tenant, add_scale(tenant, n, seed=seed, now=NOW)


def test_same_seed_same_objects() -> None:
    """Two tenants scaled with the same seed get the same ids, names, credentials, dates and thumbprints."""
    (t1, f1), (t2, f2) = _scaled(300, 7), _scaled(300, 7)
    assert f1 == f2
    apps1, apps2 = t1.apps[-300:], t2.apps[-300:]
    assert [a.display_name for a in apps1] == [f"scale-app-{i:05d}" for i in range(1, 301)]
    with_cert = [i for i, a in enumerate(apps1) if a.key_credentials][:5]
    assert with_cert
    for i in with_cert:
        assert [k.thumbprint for k in apps1[i].key_credentials] == [
            k.thumbprint for k in apps2[i].key_credentials
        ]
    assert [p.secret for a in apps1 for p in a.password_credentials] == [
        p.secret for a in apps2 for p in a.password_credentials
    ]
    _, other = _scaled(300, 8)
    assert other.apps != f1.apps
    assert other.credentials != f1.credentials


def test_credentials_spread_over_expiry_dates() -> None:
    """Some credentials are expired, some expire within 30 days, most later; both kinds occur."""
    tenant, facts = _scaled(1000, 1)
    assert (len(facts.users), len(facts.groups), len(facts.apps)) == (1000, 1000, 1000)
    expired, soon = facts.expired(), facts.expiring_within(30)
    total = len(facts.credentials)
    assert 0.10 * total < len(expired) < 0.20 * total
    assert 0.15 * total < len(soon) < 0.25 * total
    assert {c.kind for c in expired} == {c.kind for c in soon} == {"password", "certificate"}
    summary = facts.summary()
    assert summary["expired"] == len(expired)
    assert summary["expiringWithin30Days"] == len(soon)
    assert summary["secrets"] + summary["certificates"] == total
    by_key = {k.key_id: k for a in tenant.apps for k in a.key_credentials}
    for fact in [c for c in facts.credentials if c.kind == "certificate"][:20]:
        certificate = by_key[fact.key_id].certificate
        assert certificate.not_valid_after_utc == fact.end
        assert certificate.not_valid_before_utc == fact.start


def test_scale_must_not_be_negative() -> None:
    """A negative scale is refused."""
    with pytest.raises(ValueError, match="scale"):
        add_scale(build_tenant("https://127.0.0.1:1"), -1)


def test_scaled_tenant_over_graph(scaled_devstack: Callable[[int], OfflineTenant]) -> None:
    """Graph serves the 2,500 generated users and apps; each app's credential dates are the facts'."""
    stack = scaled_devstack(2500)
    facts = stack.scale
    assert facts is not None
    assert stack.state()["scale"]["apps"] == 2500
    app = stack.tenant.app_by_name("entra-automation")
    assert app is not None
    token, _ = stack.tenant.issuer.issue(
        app.principal(), "https://graph.microsoft.com", roles=["User.Read.All", "Application.Read.All"]
    )
    graph = f"{stack.servers['graph'].url}/v1.0"
    with tls_session(stack.state()["caBundle"]) as http:
        http.headers["Authorization"] = f"Bearer {token}"
        counted = http.get(
            f"{graph}/users", params={"$count": "true", "$top": "1"}, headers={"ConsistencyLevel": "eventual"}
        ).json()
        assert counted["@odata.count"] == 250 + 2500
        fact = next(c for c in facts.credentials if c.kind == "certificate" and c.expired(facts.now))
        listed = http.get(f"{graph}/applications", params={"$filter": f"appId eq '{fact.app_id}'"})
        (registration,) = listed.json()["value"]
        ends = {k["keyId"]: k["endDateTime"] for k in registration["keyCredentials"]}
        assert ends[fact.key_id] == fact.end.strftime("%Y-%m-%dT%H:%M:%SZ")
        model = http.get(f"{stack.servers['graph'].url}/_devstack/throttling").json()
        assert model["tenantSize"] == "L"
