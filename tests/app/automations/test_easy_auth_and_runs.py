"""Easy Auth's principal read only when the platform says authentication is on; long runs answer 202."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.auth import reset_signing_keys
from shared.automations import Invocation, automation
from shared.automations._runs import QUEUE, execute
from shared.storage import Account
from tests import caller_tokens as ct
from tests.app.automations.support import body, call, principal_header, run_status
from tests.app_env import clear_faults, fault

pytestmark = pytest.mark.usefixtures("app_env")

TENANT = "434b7530-0ab7-490d-b439-d97439cdf1c4"
ROLE_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID_URI = "http://schemas.microsoft.com/identity/claims/objectidentifier"
TID_URI = "http://schemas.microsoft.com/identity/claims/tenantid"


@automation(
    "test-long-export",
    summary="A long-running test automation (tests only).",
    input_schema={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    output_schema={"type": "object"},
    roles={"Sessions.Revoke"},
    long_running=True,
)
def _long_export(inv: Invocation) -> Mapping[str, Any]:
    return {"doubled": int(inv.input["n"]) * 2, "by": inv.caller.app_id}


def _app_principal(
    *, role_typ: str = "roles", tenant: str = TENANT, roles: tuple[str, ...] = ("Sessions.Revoke",)
) -> str:
    claims = [(OID_URI, "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f"), (TID_URI, tenant), ("appid", ct.CALLER_APP)]
    claims += [(role_typ, r) for r in roles]
    return principal_header(
        claims, name_typ="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", role_typ=role_typ
    )


def test_principal_header_is_ignored_without_easy_auth() -> None:
    """With WEBSITE_AUTH_ENABLED unset, X-MS-CLIENT-PRINCIPAL is forgeable and ignored: 401."""
    response = call("revoke-sessions", {"user": ct.ALEX}, headers={"X-MS-CLIENT-PRINCIPAL": _app_principal()})
    assert response.status_code == 401


@pytest.mark.parametrize("role_typ", ["roles", ROLE_URI, "custom-role-type"])
def test_easy_auth_principal_is_the_caller(role_typ: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With Easy Auth on, the principal's claims are the caller, its role type read from role_typ."""
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    response = call(
        "revoke-sessions",
        {"user": ct.ALEX},
        headers={"X-MS-CLIENT-PRINCIPAL": _app_principal(role_typ=role_typ)},
    )
    assert response.status_code == 200, response.get_body()


def test_easy_auth_without_the_role_is_403(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Easy Auth principal without the app role is 403."""
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "true")
    response = call(
        "revoke-sessions", {"user": ct.ALEX}, headers={"X-MS-CLIENT-PRINCIPAL": _app_principal(roles=())}
    )
    assert response.status_code == 403


def test_easy_auth_other_tenant_or_no_principal_is_401(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Easy Auth on, a principal of a tenant off the list, or none at all, is 401."""
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    other = _app_principal(tenant="72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert (
        call("revoke-sessions", {"user": ct.ALEX}, headers={"X-MS-CLIENT-PRINCIPAL": other}).status_code
        == 401
    )
    assert call("revoke-sessions", {"user": ct.ALEX}).status_code == 401
    garbage = base64.b64encode(b"not json").decode()
    assert (
        call("revoke-sessions", {"user": ct.ALEX}, headers={"X-MS-CLIENT-PRINCIPAL": garbage}).status_code
        == 401
    )


def test_long_running_automation_answers_202_and_runs_from_the_queue(
    caller_app: str, observer_app: str, storage: Account
) -> None:
    """202 + Location at once; the queued message (no token in it) runs; the caller reads the result."""
    response = call("test-long-export", {"n": 21}, token=caller_app)
    assert response.status_code == 202, response.get_body()
    answer = body(response)
    assert (
        response.headers["Location"]
        == answer["location"]
        == f"/api/automations/test-long-export/runs/{answer['runId']}"
    )
    queued = body(run_status("test-long-export", answer["runId"], caller_app))
    assert queued["status"] == "queued"
    messages = list(storage.queue(QUEUE).receive_messages(max_messages=32))
    # The client decodes the host's base64 encoding: `content` is the JSON the app sent.
    texts = [m.content.decode() if isinstance(m.content, bytes) else str(m.content) for m in messages]
    mine = [t for t in texts if answer["runId"] in t]
    assert len(mine) == 1
    assert caller_app not in mine[0]
    assert "eyJ" not in mine[0]
    execute(mine[0].encode())
    done = body(run_status("test-long-export", answer["runId"], caller_app))
    assert done["status"] == "succeeded"
    assert done["result"] == {"doubled": 42, "by": ct.CALLER_APP}
    # Another caller cannot see it (authorised for the automation or not).
    assert run_status("test-long-export", answer["runId"], observer_app).status_code == 403


def test_run_location_of_an_unknown_run_is_404(caller_app: str) -> None:
    """A run id that was never issued is 404."""
    assert run_status("test-long-export", "0000000000000-deadbeef", caller_app).status_code == 404


def test_devstack_tenant_fixture(devstack: OfflineTenant) -> None:
    """The seeded caller app exists with its app roles on the API."""
    app = devstack.tenant.app(ct.CALLER_APP)
    assert app is not None
    assert devstack.tenant.roles_for(app.sp_object_id, ct.API_APP) == {
        "Sessions.Revoke",
        "GroupMembers.Manage",
    }


def test_a_signing_key_outage_is_503_on_both_routes(devstack: OfflineTenant, caller_app: str) -> None:
    """With no signing keys cached and Entra's key endpoints down, both routes answer 503 + Retry-After."""
    reset_signing_keys()
    fault(devstack, "entra", match="openid-configuration|discovery", status=503, times=100)
    try:
        for response in (
            call("test-long-export", {"n": 1}, token=caller_app),
            run_status("test-long-export", "0000000000000-deadbeef", caller_app),
        ):
            assert response.status_code == 503, response.get_body()
            assert response.headers["Retry-After"] == "5"
            assert response.mimetype == "application/problem+json"
            assert body(response)["type"].endswith("keys-unavailable")
            assert caller_app not in response.get_body().decode()
    finally:
        clear_faults(devstack)
        reset_signing_keys()
