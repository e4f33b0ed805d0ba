"""Delta queries on users and groups over HTTP: a full round, then only what changed, with @removed."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from devstack.offline_tenant import OfflineTenant
from tests.devstack.graph.support import app_token, bearer, error


def _round(http: requests.Session, url: str, page_size: int = 100) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = http.get(url, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        assert page.status_code == 200, page.text
        body = page.json()
        pages += 1
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def _writer(devstack: OfflineTenant, http: requests.Session) -> requests.Session:
    roles = ["User.ReadWrite.All", "User.Read.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All"]
    http.headers.update(bearer(app_token(devstack, roles=roles)))
    return http


def _new_user(devstack: OfflineTenant, http: requests.Session, graph: str) -> dict[str, Any]:
    nick = f"delta.{uuid.uuid4().hex[:8]}"
    body = {
        "accountEnabled": True,
        "displayName": "Delta User",
        "mailNickname": nick,
        "userPrincipalName": f"{nick}@{devstack.tenant.default_domain}",
        "passwordProfile": {"password": "Delta-Pass-1234"},
    }
    created = http.post(f"{graph}/users", json=body)
    assert created.status_code == 201
    result: dict[str, Any] = created.json()
    return result


def test_users_delta_full_round_then_changes(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """The first round pages every user; the deltaLink then yields only created, updated and deleted ones."""
    api = _writer(devstack, http)
    items, delta_link, pages = _round(api, f"{graph}/users/delta?$select=displayName,jobTitle", page_size=60)
    assert len(items) == len(devstack.tenant.users)
    assert pages == -(-len(items) // 60)
    assert all(set(i) == {"id", "displayName", "jobTitle"} for i in items)
    assert "$deltatoken=" in delta_link
    changed_user = devstack.tenant.users[5].object_id
    created = _new_user(devstack, api, graph)
    doomed = _new_user(devstack, api, graph)
    assert api.patch(f"{graph}/users/{changed_user}", json={"jobTitle": "Changed"}).status_code == 204
    assert api.delete(f"{graph}/users/{doomed['id']}").status_code == 204
    changes, next_link, _ = _round(api, delta_link)
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {changed_user, created["id"], doomed["id"]}
    assert by_id[changed_user]["jobTitle"] == "Changed"
    assert set(by_id[changed_user]) == {"id", "displayName", "jobTitle"}
    assert by_id[doomed["id"]] == {"id": doomed["id"], "@removed": {"reason": "changed"}}
    nothing, _, _ = _round(api, next_link)
    assert nothing == []
    api.delete(f"{graph}/users/{created['id']}")


def test_groups_delta_carries_member_changes(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """A group's members@delta lists members added and, with @removed, members removed since the token."""
    api = _writer(devstack, http)
    items, delta_link, _ = _round(api, f"{graph}/groups/delta?$select=displayName,members")
    assert len(items) == len(devstack.tenant.groups)
    marketing = next(i for i in items if i["displayName"] == "Marketing")
    assert len(marketing["members@delta"]) == 2
    group = api.post(
        f"{graph}/groups",
        json={
            "displayName": "Delta",
            "mailEnabled": False,
            "mailNickname": "delta-g",
            "securityEnabled": True,
        },
    ).json()
    alex, megan = devstack.tenant.users[1].object_id, devstack.tenant.users[2].object_id
    for member in (alex, megan):
        ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{member}"}
        assert api.post(f"{graph}/groups/{group['id']}/members/$ref", json=ref).status_code == 204
    changes, delta_link, _ = _round(api, delta_link)
    (entry,) = changes
    assert entry["id"] == group["id"]
    assert sorted(m["id"] for m in entry["members@delta"]) == sorted([alex, megan])
    assert api.delete(f"{graph}/groups/{group['id']}/members/{alex}/$ref").status_code == 204
    (entry,) = _round(api, delta_link)[0]
    assert entry["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": alex, "@removed": {"reason": "deleted"}}
    ]
    assert api.delete(f"{graph}/groups/{group['id']}").status_code == 204


def test_bad_delta_token_is_refused(devstack: OfflineTenant, http: requests.Session, graph: str) -> None:
    """A delta token that is not one of ours, or one for groups used on users, is 400."""
    api = _writer(devstack, http)
    assert error(api.get(f"{graph}/users/delta", params={"$deltatoken": "garbage"}))[:2] == (
        400,
        "BadRequest",
    )
    _, groups_link, _ = _round(api, f"{graph}/groups/delta")
    token = groups_link.split("$deltatoken=")[1]
    assert api.get(f"{graph}/users/delta", params={"$deltatoken": token}).status_code == 400


def test_latest_token_skips_the_full_round(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """$deltatoken=latest answers no objects and a deltaLink that yields only later changes."""
    api = _writer(devstack, http)
    latest = api.get(f"{graph}/users/delta", params={"$deltatoken": "latest"}).json()
    assert latest["value"] == []
    user = devstack.tenant.users[7].object_id
    assert api.patch(f"{graph}/users/{user}", json={"jobTitle": "Latest"}).status_code == 204
    changes, _, _ = _round(api, latest["@odata.deltaLink"])
    assert [c["id"] for c in changes] == [user]
