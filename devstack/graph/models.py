"""Graph's state and operations on the tenant model: directory writes and the change log; no HTTP.

`GraphBackend` is what the HTTP layer (`responses.py`) calls. It raises Graph's own errors
(`exceptions.py`), records every change of a user or group in a change log (what delta
queries read, `delta.py`) and tells its listeners (change notifications, `subscriptions.py`).
Application credentials (addKey, addPassword, ...) are in `credentials.py`.

Texts marked "≈" are close to Graph's but not confirmed word for word.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devstack.graph.exceptions import RequestBadRequest, ResourceNotFound, UnknownProperty
from devstack.tenant import models as m
from devstack.tenant.pki import utcnow

Body = Mapping[str, Any]

USER_WRITABLE = {
    "accountEnabled": bool,
    "displayName": str,
    "givenName": str,
    "surname": str,
    "jobTitle": str,
    "department": str,
    "mail": str,
    "mailNickname": str,
    "userPrincipalName": str,
    "passwordProfile": dict,
    "usageLocation": str,
    "officeLocation": str,
}
USER_REQUIRED = ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName")
GROUP_WRITABLE = {
    "displayName": str,
    "description": str,
    "mailNickname": str,
    "mailEnabled": bool,
    "securityEnabled": bool,
    "groupTypes": list,
    "members@odata.bind": list,
    "owners@odata.bind": list,
    "visibility": str,
}
GROUP_REQUIRED = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")


@dataclass(frozen=True)
class Change:
    """One change of a directory object, in the order they happened (`seq` from 1)."""

    seq: int
    resource: str  # "users" | "groups"
    object_id: str
    change_type: str  # "created" | "updated" | "deleted"
    members_added: tuple[str, ...] = ()
    members_removed: tuple[str, ...] = ()


def check_body(body: Body, writable: Mapping[str, type], type_name: str, resource: str) -> None:
    """Unknown properties and wrongly typed values get Graph's 400s."""
    for name, value in body.items():
        if name.startswith("@odata.") and name != "@odata.type":
            continue
        if name == "@odata.type":
            continue
        expected = writable.get(name)
        if expected is None:
            raise UnknownProperty(name, type_name)
        if value is not None and (
            not isinstance(value, expected) or (expected is not bool and isinstance(value, bool))
        ):
            raise RequestBadRequest.invalid_value(name, resource)


def bound_id(reference: Any) -> str:
    """`https://graph.microsoft.com/v1.0/directoryObjects/{id}` (or `users/{id}`) -> the id."""
    text = str(reference or "").rstrip("/")
    object_id = text.rsplit("/", 1)[-1]
    if not text or not object_id or "(" in object_id:
        raise RequestBadRequest(f"Invalid object identifier '{text}'.")  # ≈
    return object_id


@dataclass
class GraphBackend:
    """Directory writes on the shared tenant, with a change log and change listeners."""

    tenant: m.Tenant
    clock: Callable[[], dt.datetime] = utcnow
    changes: list[Change] = field(default_factory=list)
    listeners: list[Callable[[Change], None]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- change log -----------------------------------------------------------
    @property
    def last_seq(self) -> int:
        with self._lock:
            return self.changes[-1].seq if self.changes else 0

    def record(
        self,
        resource: str,
        object_id: str,
        change_type: str,
        *,
        added: tuple[str, ...] = (),
        removed: tuple[str, ...] = (),
    ) -> Change:
        """Append a change and tell the listeners (a listener's failure never undoes the change)."""
        with self._lock:
            change = Change(self.last_seq + 1, resource, object_id, change_type, added, removed)
            self.changes.append(change)
        if resource == "users":
            self.tenant.directory_changed()
        for listener in list(self.listeners):
            listener(change)
        return change

    # -- look-ups -------------------------------------------------------------
    def user(self, key: str) -> m.User:
        found = self.tenant.user(key)
        if found is None:
            raise ResourceNotFound(key)
        return found

    def group(self, key: str) -> m.Group:
        k = key.lower()
        for g in self.tenant.groups:
            if g.object_id.lower() == k:
                return g
        raise ResourceNotFound(key)

    # -- users ----------------------------------------------------------------
    def create_user(self, body: Body) -> m.User:
        check_body(body, USER_WRITABLE, "microsoft.graph.user", "User")
        for name in USER_REQUIRED:
            if body.get(name) in (None, ""):
                raise RequestBadRequest.required(name)
        upn = self._check_upn(str(body["userPrincipalName"]))
        self._check_password_profile(body["passwordProfile"])
        user = m.User(
            object_id=m.new_id(),
            user_principal_name=upn,
            display_name=str(body["displayName"]),
            given_name=str(body.get("givenName") or ""),
            surname=str(body.get("surname") or ""),
            job_title=body.get("jobTitle"),
            department=body.get("department"),
            account_enabled=bool(body["accountEnabled"]),
            mail=body.get("mail"),
        )
        with self.tenant.lock:
            self.tenant.users.append(user)
        self.record("users", user.object_id, "created")
        return user

    def update_user(self, key: str, body: Body) -> m.User:
        check_body(body, USER_WRITABLE, "microsoft.graph.user", "User")
        user = self.user(key)
        if "userPrincipalName" in body:
            upn = str(body["userPrincipalName"])
            if upn.lower() != user.user_principal_name.lower():
                upn = self._check_upn(upn)
            user.user_principal_name = upn
        if "passwordProfile" in body:
            self._check_password_profile(body["passwordProfile"])
        with self.tenant.lock:
            for prop, attr in (
                ("displayName", "display_name"),
                ("givenName", "given_name"),
                ("surname", "surname"),
                ("jobTitle", "job_title"),
                ("department", "department"),
                ("accountEnabled", "account_enabled"),
                ("mail", "mail"),
            ):
                if prop in body:
                    value = body[prop]
                    if attr in ("display_name", "given_name", "surname") and value is None:
                        value = ""
                    setattr(user, attr, value)
        self.record("users", user.object_id, "updated")
        return user

    def delete_user(self, key: str) -> None:
        user = self.user(key)
        with self.tenant.lock:
            self.tenant.users.remove(user)
            for g in self.tenant.groups:
                if user.object_id in g.members:
                    g.members.remove(user.object_id)
        self.record("users", user.object_id, "deleted")

    def revoke_sign_in_sessions(self, key: str) -> m.User:
        user = self.user(key)
        user.sign_in_sessions_valid_from = self.clock().replace(microsecond=0)
        with self.tenant.lock:  # a count per user, for tests that check a revocation happened
            revoked = self.tenant.extra.setdefault("revokedSessions", {})
            revoked[user.object_id] = revoked.get(user.object_id, 0) + 1
        self.record("users", user.object_id, "updated")
        return user

    def _check_upn(self, upn: str) -> str:
        local, at, domain = upn.partition("@")
        if not local or not at or domain.lower() != self.tenant.default_domain.lower():
            raise RequestBadRequest(
                "The domain portion of the userPrincipalName property is invalid. "
                "You must use one of the verified domain names in your organization."
            )
        if self.tenant.user(upn) is not None:
            raise RequestBadRequest.duplicate("userPrincipalName")
        return upn

    @staticmethod
    def _check_password_profile(profile: Any) -> None:
        # The password is checked for shape and then forgotten: nothing signs in with it here.
        if (
            not isinstance(profile, dict)
            or not isinstance(profile.get("password"), str)
            or not profile["password"]
        ):
            raise RequestBadRequest.invalid_value("passwordProfile", "User")

    # -- groups ---------------------------------------------------------------
    def create_group(self, body: Body) -> m.Group:
        check_body(body, GROUP_WRITABLE, "microsoft.graph.group", "Group")
        for name in GROUP_REQUIRED:
            if body.get(name) in (None, ""):
                raise RequestBadRequest.required(name)
        members = [self.user(bound_id(ref)).object_id for ref in body.get("members@odata.bind") or []]
        group = m.Group(
            object_id=m.new_id(),
            display_name=str(body["displayName"]),
            mail_nickname=str(body["mailNickname"]),
            description=body.get("description"),
            security_enabled=bool(body["securityEnabled"]),
            mail_enabled=bool(body["mailEnabled"]),
            members=list(dict.fromkeys(members)),
            created=self.clock(),
        )
        with self.tenant.lock:
            self.tenant.groups.append(group)
        self.record("groups", group.object_id, "created", added=tuple(group.members))
        return group

    def update_group(self, key: str, body: Body) -> m.Group:
        check_body(body, GROUP_WRITABLE, "microsoft.graph.group", "Group")
        group = self.group(key)
        added = [self.user(bound_id(ref)).object_id for ref in body.get("members@odata.bind") or []]
        with self.tenant.lock:
            if any(oid in group.members for oid in added):
                raise RequestBadRequest.members_exist()
            for prop, attr in (
                ("displayName", "display_name"),
                ("description", "description"),
                ("mailNickname", "mail_nickname"),
                ("mailEnabled", "mail_enabled"),
                ("securityEnabled", "security_enabled"),
            ):
                if prop in body:
                    setattr(group, attr, body[prop])
            group.members.extend(dict.fromkeys(added))
        self.record("groups", group.object_id, "updated", added=tuple(added))
        return group

    def delete_group(self, key: str) -> None:
        group = self.group(key)
        with self.tenant.lock:
            self.tenant.groups.remove(group)
        self.record("groups", group.object_id, "deleted")

    def add_member(self, group_key: str, body: Body) -> None:
        """`POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`."""
        group = self.group(group_key)
        if set(body) - {"@odata.id"} or "@odata.id" not in body:
            raise RequestBadRequest("Invalid request body: expected '@odata.id'.")  # ≈
        member = self.user(bound_id(body["@odata.id"]))
        with self.tenant.lock:
            if member.object_id in group.members:
                raise RequestBadRequest.members_exist()
            group.members.append(member.object_id)
        self.record("groups", group.object_id, "updated", added=(member.object_id,))

    def remove_member(self, group_key: str, member_id: str) -> None:
        """`DELETE /groups/{id}/members/{memberId}/$ref`: 404 when it is not a member."""
        group = self.group(group_key)
        with self.tenant.lock:
            match = next((oid for oid in group.members if oid.lower() == member_id.lower()), None)
            if match is None:
                raise ResourceNotFound(member_id)
            group.members.remove(match)
        self.record("groups", group.object_id, "updated", removed=(match,))
