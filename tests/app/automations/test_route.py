"""POST /api/automations/{name} in-process against the devstack: 401/403/400/404, the built-ins, audit."""

from __future__ import annotations

import json
import uuid

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.automations._audit import latest
from tests import caller_tokens as ct
from tests.app.automations.support import body, call
from tests.app_env import counts, reset_counts

pytestmark = pytest.mark.usefixtures("app_env")

MARKETING = str(uuid.uuid5(uuid.NAMESPACE_URL, "group:marketing"))


def test_no_token_is_401_with_a_bearer_challenge() -> None:
    """Without a token the answer is 401, WWW-Authenticate: Bearer, and a problem saying why."""
    response = call("revoke-sessions", {"user": ct.ALEX})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.mimetype == "application/problem+json"
    assert body(response)["detail"] == "No bearer token was presented."


def test_forged_token_is_401_without_echoing_it(devstack: OfflineTenant) -> None:
    """A token signed by an attacker's key is 401; neither body nor header carries the token."""
    claims = ct.decode(devstack.tenant.issuer.sign({"aud": ct.API_APP, "tid": devstack.tenant.tenant_id}))
    forged = ct.sign(claims, headers={"kid": devstack.tenant.issuer.kid})
    response = call("revoke-sessions", {"user": ct.ALEX}, token=forged)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert forged not in response.get_body().decode()
    assert forged not in response.headers["WWW-Authenticate"]


def test_a_graph_token_is_refused(devstack: OfflineTenant) -> None:
    """A genuine token for Graph (another audience) is 401."""
    user = devstack.tenant.user(ct.ADELE)
    assert user is not None
    graph_token, _ = devstack.tenant.issuer.issue(
        user.principal(), "https://graph.microsoft.com", scopes=["User.Read"]
    )
    response = call("whoami", {}, token=graph_token)
    assert response.status_code == 401
    assert "audience" in body(response)["detail"]


@pytest.mark.parametrize("connection", ["graph_cert", "graph_federated", "graph_kvkey"])
def test_whoami_reaches_graph_as_the_user(
    connection: str, adele: str, devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """whoami exchanges the caller's token on-behalf-of (each credential kind) and reads /me as them."""
    monkeypatch.setenv("AUTOMATIONS__CONNECTION", connection)
    response = call("whoami", {}, token=adele)
    assert response.status_code == 200, response.get_body()
    result = body(response)["result"]
    user = devstack.tenant.user(ct.ADELE)
    assert user is not None
    assert result["me"]["id"] == user.object_id
    assert result["me"]["userPrincipalName"] == ct.ADELE
    assert result["caller"]["scopes"] == ["access_as_user"]
    assert "User.Read" in result["graphScopes"]


def test_whoami_refuses_an_app_only_caller(caller_app: str) -> None:
    """An app-only token cannot run an on-behalf-of automation: 403 naming the delegated scope."""
    response = call("whoami", {}, token=caller_app)
    assert response.status_code == 403
    assert body(response)["missingScopes"] == ["access_as_user"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_missing_scope_is_403_naming_it(devstack: OfflineTenant) -> None:
    """A user token for the API without access_as_user is 403 with the missing scope."""
    user = devstack.tenant.user(ct.ADELE)
    assert user is not None
    token, _ = devstack.tenant.issuer.issue(
        user.principal(), ct.API_APP, scopes=["Other.Scope"], azp=ct.AZURE_CLI
    )
    response = call("whoami", {}, token=token)
    assert response.status_code == 403
    assert body(response)["missingScopes"] == ["access_as_user"]


def test_revoke_sessions_as_an_app_with_the_role(caller_app: str, devstack: OfflineTenant) -> None:
    """An app caller with Sessions.Revoke revokes the user's sessions in Graph."""
    user = devstack.tenant.user(ct.ALEX)
    assert user is not None
    user.sign_in_sessions_valid_from = None
    response = call("revoke-sessions", {"user": ct.ALEX}, token=caller_app)
    assert response.status_code == 200, response.get_body()
    assert body(response)["result"] == {"user": ct.ALEX, "revoked": True}
    assert user.sign_in_sessions_valid_from is not None  # Graph's revocation moment


def test_revoke_sessions_as_a_user_with_the_role(adele: str) -> None:
    """A user with the app role assigned (and the scope) may revoke sessions."""
    response = call("revoke-sessions", {"user": ct.ALEX}, token=adele)
    assert response.status_code == 200, response.get_body()


@pytest.mark.parametrize("who", ["observer_app", "alex"])
def test_revoke_sessions_without_the_role_is_403(who: str, request: pytest.FixtureRequest) -> None:
    """An app or a user without Sessions.Revoke gets 403 naming the role."""
    response = call("revoke-sessions", {"user": ct.ADELE}, token=request.getfixturevalue(who))
    assert response.status_code == 403
    assert body(response)["missingRoles"] == ["Sessions.Revoke"]


def test_unknown_user_is_404(caller_app: str) -> None:
    """Revoking the sessions of a user who does not exist is 404."""
    response = call("revoke-sessions", {"user": "nobody@contoso.onmicrosoft.com"}, token=caller_app)
    assert response.status_code == 404
    assert body(response)["type"].endswith("target-not-found")


def test_group_membership_is_idempotent(caller_app: str, devstack: OfflineTenant) -> None:
    """Adding twice changes once; removing twice changes once; the group holds what was asked."""
    user = devstack.tenant.user(ct.ADELE)
    assert user is not None
    group = next(g for g in devstack.tenant.groups if g.object_id == MARKETING)
    spec = {"group": MARKETING, "user": ct.ADELE}
    first = body(call("group-membership", {**spec, "action": "add"}, token=caller_app))["result"]
    again = body(call("group-membership", {**spec, "action": "add"}, token=caller_app))["result"]
    assert (first["changed"], again["changed"]) == (True, False)
    assert user.object_id in group.members
    removed = body(call("group-membership", {**spec, "action": "remove"}, token=caller_app))["result"]
    gone = body(call("group-membership", {**spec, "action": "remove"}, token=caller_app))["result"]
    assert (removed["changed"], gone["changed"]) == (True, False)
    assert user.object_id not in group.members


def test_group_membership_unknown_group_is_404(caller_app: str) -> None:
    """A group id that names no group is 404."""
    spec = {"group": str(uuid.uuid4()), "user": ct.ADELE, "action": "add"}
    assert call("group-membership", spec, token=caller_app).status_code == 404


@pytest.mark.parametrize(
    ("payload", "paths"),
    [
        ({}, ["/"]),
        ({"user": ""}, ["/user"]),
        ({"user": ct.ALEX, "extra": 1}, ["/"]),
        ({"user": 5}, ["/user"]),
    ],
)
def test_schema_violations_are_400_listing_errors(
    caller_app: str, payload: dict[str, object], paths: list[str]
) -> None:
    """An input that breaks the schema is 400 problem+json with each error's path and message."""
    response = call("revoke-sessions", payload, token=caller_app)
    assert response.status_code == 400
    problem = body(response)
    assert sorted({e["path"] for e in problem["errors"]}) == paths
    assert all(e["message"] for e in problem["errors"])


def test_group_membership_schema_lists_every_error(caller_app: str) -> None:
    """Several wrong fields are all listed (format uuid, enum, required)."""
    response = call("group-membership", {"group": "not-a-guid", "action": "merge"}, token=caller_app)
    assert response.status_code == 400
    assert sorted(e["path"] for e in body(response)["errors"]) == ["/", "/action", "/group"]


def test_body_that_is_not_json_is_400(caller_app: str) -> None:
    """A body that is not JSON is 400, not 500."""
    response = call("revoke-sessions", raw=b"{not json", token=caller_app)
    assert response.status_code == 400
    assert body(response)["errors"][0]["message"]


def test_input_is_not_checked_before_the_caller() -> None:
    """Without a token a bad input is still 401: schemas are not revealed to anonymous callers."""
    assert call("revoke-sessions", raw=b"{not json").status_code == 401


def test_unknown_automation_is_404_listing_the_declared_ones(caller_app: str) -> None:
    """An unknown name is 404 with the declared automations."""
    response = call("no-such-thing", {}, token=caller_app)
    assert response.status_code == 404
    assert {"whoami", "revoke-sessions", "group-membership"} <= set(body(response)["automations"])


def test_every_call_is_audited_without_the_token(
    caller_app: str, observer_app: str, devstack: OfflineTenant
) -> None:
    """A succeeded and a refused call each leave a run: caller, tenant, digest, status, duration; no token."""
    ok = body(call("revoke-sessions", {"user": ct.ALEX}, token=caller_app))
    refused = call("revoke-sessions", {"user": ct.ALEX}, token=observer_app)
    assert refused.status_code == 403
    runs = {r.id: r for r in latest("revoke-sessions", limit=500)}
    run = runs[ok["runId"]]
    assert run.kind.value == "automation"
    assert run.status.value == "succeeded"
    assert run.caller == f"app:{ct.CALLER_APP}"
    assert run.detail["httpStatus"] == 200
    assert run.detail["callerAppId"] == ct.CALLER_APP
    assert run.detail["callerKind"] == "app"
    assert run.detail["tenantId"] == devstack.tenant.tenant_id
    assert run.detail["inputDigest"].startswith("sha256:")
    assert run.detail["durationMs"] >= 0
    denied = [r for r in runs.values() if r.detail.get("callerAppId") == ct.OBSERVER_APP]
    assert denied
    assert denied[0].status.value == "failed"
    assert denied[0].error is not None
    assert denied[0].error.code == "insufficient_scope"
    everything = json.dumps([r.to_dict() for r in runs.values()], default=str)
    assert caller_app not in everything
    assert observer_app not in everything
    assert "eyJ" not in everything


def test_user_call_audit_names_the_user(adele: str) -> None:
    """A user's call records their object id and UPN."""
    run_id = body(call("revoke-sessions", {"user": ct.ALEX}, token=adele))["runId"]
    run = next(r for r in latest("revoke-sessions", limit=500) if r.id == run_id)
    assert run.detail["callerUpn"] == ct.ADELE
    assert run.detail["callerKind"] == "user"
    assert run.detail["callerAppId"] == ct.AZURE_CLI
    assert run.caller == f"user:{ct.ADELE}"


def test_a_refused_token_is_audited_without_a_caller() -> None:
    """A call without a token leaves a failed run with the reason and no caller."""
    call("revoke-sessions", {"user": ct.ALEX})
    run = latest("revoke-sessions", limit=5)[0]
    assert run.detail["httpStatus"] == 401
    assert run.caller is None
    assert run.error is not None
    assert run.error.message == "No bearer token was presented."


def test_warm_whoami_makes_no_entra_request(adele: str, devstack: OfflineTenant) -> None:
    """After a first whoami, the next one reuses msal's OBO cache and the cached keys: 0 Entra calls."""
    assert call("whoami", {}, token=adele).status_code == 200
    reset_counts(devstack)
    assert call("whoami", {}, token=adele).status_code == 200
    seen = counts(devstack)
    assert seen["entra"] == 0
    assert seen["graph"] == 1
