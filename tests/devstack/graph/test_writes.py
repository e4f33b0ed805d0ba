"""Graph writes over HTTP: users, groups, members, revokeSignInSessions, each behind its app role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from tests.devstack.graph.support import DENIED, app_token, bearer, error

USER_WRITE = ["User.ReadWrite.All"]


def _user_body(devstack: OfflineTenant, **overrides: Any) -> dict[str, Any]:
    nick = f"new.user.{uuid.uuid4().hex[:8]}"
    return {
        "accountEnabled": True,
        "displayName": "New User",
        "mailNickname": nick,
        "userPrincipalName": f"{nick}@{devstack.tenant.default_domain}",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "xWwvJ]6NMw+bWH-d"},
        **overrides,
    }


def _group_body(**overrides: Any) -> dict[str, Any]:
    return {
        "displayName": "New Group",
        "mailEnabled": False,
        "mailNickname": f"new-group-{uuid.uuid4().hex[:8]}",
        "securityEnabled": True,
        **overrides,
    }


@pytest.fixture
def writer(devstack: OfflineTenant, http: requests.Session) -> requests.Session:
    """A session whose token has every directory write role."""
    roles = ["User.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All", "User.Read.All"]
    http.headers.update(bearer(app_token(devstack, roles=roles)))
    return http


@pytest.fixture
def new_user(devstack: OfflineTenant, writer: requests.Session, graph: str) -> Iterator[dict[str, Any]]:
    created = writer.post(f"{graph}/users", json=_user_body(devstack))
    assert created.status_code == 201, created.text
    yield created.json()
    writer.delete(f"{graph}/users/{created.json()['id']}")


@pytest.fixture
def new_group(writer: requests.Session, graph: str) -> Iterator[dict[str, Any]]:
    created = writer.post(f"{graph}/groups", json=_group_body())
    assert created.status_code == 201, created.text
    yield created.json()
    writer.delete(f"{graph}/groups/{created.json()['id']}")


# -- permission gates --------------------------------------------------------------------
def _requests(devstack: OfflineTenant, user_id: str, group_id: str, member_id: str) -> list[Any]:
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{member_id}"}
    return [
        ("POST", "/users", _user_body(devstack), ["User.ReadWrite.All"], 201),
        ("PATCH", f"/users/{user_id}", {"jobTitle": "Tester"}, ["User.ReadWrite.All"], 204),
        ("POST", f"/users/{user_id}/revokeSignInSessions", None, ["User.RevokeSessions.All"], 200),
        ("POST", "/groups", _group_body(), ["Group.Create"], 201),
        ("PATCH", f"/groups/{group_id}", {"description": "d"}, ["Group.ReadWrite.All"], 204),
        ("POST", f"/groups/{group_id}/members/$ref", ref, ["GroupMember.ReadWrite.All"], 204),
        ("DELETE", f"/groups/{group_id}/members/{member_id}/$ref", None, ["GroupMember.ReadWrite.All"], 204),
        ("GET", "/users/delta", None, ["User.Read.All"], 200),
        ("GET", "/groups/delta", None, ["GroupMember.Read.All"], 200),
        ("DELETE", f"/users/{user_id}", None, ["User.ReadWrite.All"], 204),
        ("DELETE", f"/groups/{group_id}", None, ["Group.ReadWrite.All"], 204),
    ]


def test_every_write_needs_its_least_privileged_role(
    devstack: OfflineTenant, writer: requests.Session, http: requests.Session, graph: str
) -> None:
    """Without the role each write gets Graph's exact 403; with only the least-privileged role it succeeds."""
    user = writer.post(f"{graph}/users", json=_user_body(devstack)).json()
    member = writer.post(f"{graph}/users", json=_user_body(devstack)).json()
    group = writer.post(f"{graph}/groups", json=_group_body()).json()
    readers = ["User.Read.All", "Group.Read.All", "Organization.Read.All"]
    try:
        for method, path, body, roles, status in _requests(devstack, user["id"], group["id"], member["id"]):
            if method == "GET":
                denied = http.request(method, f"{graph}{path}", headers=bearer(app_token(devstack, roles=[])))
            else:
                denied = http.request(
                    method, f"{graph}{path}", json=body, headers=bearer(app_token(devstack, roles=readers))
                )
            assert error(denied) == DENIED, (method, path)
            allowed = http.request(
                method, f"{graph}{path}", json=body, headers=bearer(app_token(devstack, roles=roles))
            )
            assert allowed.status_code == status, (method, path, allowed.text)
            if method == "POST" and status == 201:
                kind = path.strip("/")
                writer.delete(f"{graph}/{kind}/{allowed.json()['id']}")
    finally:
        writer.delete(f"{graph}/users/{member['id']}")


def test_post_groups_without_a_write_role_is_403_not_400(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """A POST to /groups with only read roles is 403 Authorization_RequestDenied, as Graph answers."""
    headers = bearer(app_token(devstack, roles=["Group.Read.All", "Directory.Read.All"]))
    assert error(http.post(f"{graph}/groups", json=_group_body(), headers=headers)) == DENIED


# -- users ---------------------------------------------------------------------------------
def test_user_lifecycle(
    devstack: OfflineTenant, writer: requests.Session, graph: str, new_user: dict[str, Any]
) -> None:
    """A created user reads back by UPN, takes a PATCH (204), and after DELETE (204) is 404."""
    assert new_user["accountEnabled"] is True
    assert writer.get(f"{graph}/users/{new_user['userPrincipalName']}").json()["id"] == new_user["id"]
    patched = writer.patch(
        f"{graph}/users/{new_user['id']}", json={"department": "QA", "accountEnabled": False}
    )
    assert (patched.status_code, patched.content) == (204, b"")
    read = writer.get(
        f"{graph}/users/{new_user['id']}", params={"$select": "department,accountEnabled"}
    ).json()
    assert (read["department"], read["accountEnabled"]) == ("QA", False)
    assert writer.delete(f"{graph}/users/{new_user['id']}").status_code == 204
    assert error(writer.get(f"{graph}/users/{new_user['id']}"))[:2] == (404, "Request_ResourceNotFound")
    assert "passwordProfile" not in new_user


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"accountEnabled": None}, "Property 'accountEnabled' value is required but is empty or missing."),
        ({"passwordProfile": None}, "Property 'passwordProfile' value is required but is empty or missing."),
        (
            {"accountEnabled": "yes"},
            "Invalid value specified for property 'accountEnabled' of resource 'User'.",
        ),
        (
            {"userPrincipalName": "someone@example.com"},
            "The domain portion of the userPrincipalName property is invalid. "
            "You must use one of the verified domain names in your organization.",
        ),
    ],
)
def test_create_user_refusals(
    devstack: OfflineTenant, writer: requests.Session, graph: str, overrides: dict[str, Any], message: str
) -> None:
    """Missing, wrongly typed and off-domain values get 400 Request_BadRequest with Graph's text."""
    body = {k: v for k, v in _user_body(devstack, **overrides).items() if v is not None}
    assert error(writer.post(f"{graph}/users", json=body)) == (400, "Request_BadRequest", message)


def test_duplicate_upn_and_unknown_property(
    devstack: OfflineTenant, writer: requests.Session, graph: str, new_user: dict[str, Any]
) -> None:
    """A UPN already taken is Graph's duplicate 400; a property the type lacks is OData's 400."""
    twin = _user_body(devstack, userPrincipalName=new_user["userPrincipalName"])
    assert error(writer.post(f"{graph}/users", json=twin)) == (
        400,
        "Request_BadRequest",
        "Another object with the same value for property userPrincipalName already exists.",
    )
    assert error(writer.patch(f"{graph}/users/{new_user['id']}", json={"shoeSize": 44})) == (
        400,
        "BadRequest",
        "The property 'shoeSize' does not exist on type 'microsoft.graph.user'. Make sure to only use "
        "property names that are defined by the type or mark the type as open type.",
    )
    assert writer.patch(f"{graph}/users/{new_user['id']}", data=b"{nope").status_code == 400


def test_revoke_sign_in_sessions(
    devstack: OfflineTenant, http: requests.Session, graph: str, new_user: dict[str, Any]
) -> None:
    """revokeSignInSessions answers true and sets signInSessionsValidFromDateTime; an unknown user is 404."""
    headers = bearer(app_token(devstack, roles=["User.RevokeSessions.All", "User.Read.All"]))
    answer = http.post(f"{graph}/users/{new_user['id']}/revokeSignInSessions", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["value"] is True
    assert answer.json()["@odata.context"].endswith("$metadata#Edm.Boolean")
    read = http.get(
        f"{graph}/users/{new_user['id']}",
        params={"$select": "signInSessionsValidFromDateTime"},
        headers=headers,
    ).json()
    assert read["signInSessionsValidFromDateTime"].endswith("Z")
    missing = http.post(f"{graph}/users/{uuid.uuid4()}/revokeSignInSessions", headers=headers)
    assert error(missing)[:2] == (404, "Request_ResourceNotFound")


# -- groups and members -------------------------------------------------------------------
def test_group_lifecycle(writer: requests.Session, graph: str, new_group: dict[str, Any]) -> None:
    """A created group reads back, takes a PATCH (204), and after DELETE (204) is 404."""
    assert new_group["securityEnabled"] is True
    assert (
        writer.patch(f"{graph}/groups/{new_group['id']}", json={"displayName": "Renamed"}).status_code == 204
    )
    assert writer.get(f"{graph}/groups/{new_group['id']}").json()["displayName"] == "Renamed"
    assert writer.delete(f"{graph}/groups/{new_group['id']}").status_code == 204
    assert error(writer.get(f"{graph}/groups/{new_group['id']}"))[:2] == (404, "Request_ResourceNotFound")


def test_create_group_needs_its_properties(writer: requests.Session, graph: str) -> None:
    """A group without mailNickname gets Graph's required-property 400."""
    body = _group_body()
    del body["mailNickname"]
    assert error(writer.post(f"{graph}/groups", json=body)) == (
        400,
        "Request_BadRequest",
        "Property 'mailNickname' value is required but is empty or missing.",
    )


def test_members_add_and_remove(
    writer: requests.Session, graph: str, new_group: dict[str, Any], new_user: dict[str, Any]
) -> None:
    """$ref adds a member (204); twice is Graph's 400; removing it is 204, then 404; unknown ids 404."""
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{new_user['id']}"}
    members = f"{graph}/groups/{new_group['id']}/members"
    assert writer.post(f"{members}/$ref", json=ref).status_code == 204
    assert [m["id"] for m in writer.get(members).json()["value"]] == [new_user["id"]]
    assert error(writer.post(f"{members}/$ref", json=ref)) == (
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified properties: 'members'.",
    )
    assert writer.delete(f"{members}/{new_user['id']}/$ref").status_code == 204
    assert writer.get(members).json()["value"] == []
    gone = error(writer.delete(f"{members}/{new_user['id']}/$ref"))
    assert gone == (
        404,
        "Request_ResourceNotFound",
        f"Resource '{new_user['id']}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )
    nobody = str(uuid.uuid4())
    unknown = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{nobody}"}
    assert error(writer.post(f"{members}/$ref", json=unknown))[:2] == (404, "Request_ResourceNotFound")
    assert error(writer.post(f"{graph}/groups/{nobody}/members/$ref", json=ref))[:2] == (
        404,
        "Request_ResourceNotFound",
    )
    assert error(writer.post(f"{members}/$ref", json={"id": new_user["id"]}))[:2] == (
        400,
        "Request_BadRequest",
    )


def test_deleting_a_user_removes_its_memberships(
    devstack: OfflineTenant, writer: requests.Session, graph: str, new_group: dict[str, Any]
) -> None:
    """A deleted user no longer appears among a group's members."""
    user = writer.post(f"{graph}/users", json=_user_body(devstack)).json()
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{user['id']}"}
    assert writer.post(f"{graph}/groups/{new_group['id']}/members/$ref", json=ref).status_code == 204
    writer.delete(f"{graph}/users/{user['id']}")
    assert writer.get(f"{graph}/groups/{new_group['id']}/members").json()["value"] == []


def test_writes_work_inside_a_batch(writer: requests.Session, graph: str, new_group: dict[str, Any]) -> None:
    """A $batch can PATCH a group and read it back with dependsOn."""
    batch = {
        "requests": [
            {
                "id": "1",
                "method": "PATCH",
                "url": f"/groups/{new_group['id']}",
                "headers": {"Content-Type": "application/json"},
                "body": {"description": "batched"},
            },
            {"id": "2", "method": "GET", "url": f"/groups/{new_group['id']}", "dependsOn": ["1"]},
        ]
    }
    items = {r["id"]: r for r in writer.post(f"{graph}/$batch", json=batch).json()["responses"]}
    assert items["1"]["status"] == 204
    assert items["2"]["body"]["description"] == "batched"
