"""Graph writes the automations use: revoke a user's sessions, add or remove a group member.

    POST   /users/{id}/revokeSignInSessions           -> 200 {"value": true}
    POST   /groups/{id}/members/$ref                  {"@odata.id": ".../directoryObjects/{id}"} -> 204
    DELETE /groups/{id}/members/{memberId}/$ref       -> 204

Adding a member twice is Graph's 400 Request_BadRequest "One or more added object references
already exist..."; removing a non-member is 404 Request_ResourceNotFound
(https://learn.microsoft.com/graph/api/group-post-members, group-delete-members,
user-revokesigninsessions). Their permissions are in `permissions.REQUIRED`.
"""

from __future__ import annotations

import re

from werkzeug.wrappers import Response

from devstack.graph.exceptions import BadRequest, RequestBadRequest, ResourceNotFound
from devstack.graph.responses import Call, GraphResponses, ok

URLS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/users/<key>/revokeSignInSessions", "RevokeSignInSessions", "revoke_sign_in_sessions", ("POST",)),
    ("/groups/<object_id>/members/$ref", "AddGroupMember", "add_group_member", ("POST",)),
    (
        "/groups/<object_id>/members/<member_id>/$ref",
        "RemoveGroupMember",
        "remove_group_member",
        ("DELETE",),
    ),
]

_DIRECTORY_OBJECT = re.compile(r"/directoryObjects/([0-9a-fA-F-]{36})$")


class GraphWrites:
    """The handlers; they share the tenant (and its lock) with `GraphResponses`."""

    def __init__(self, responses: GraphResponses) -> None:
        self.responses = responses
        self.tenant = responses.tenant

    def revoke_sign_in_sessions(self, call: Call, key: str) -> Response:
        user = self.tenant.user(key)
        if user is None:
            raise ResourceNotFound(key)
        with self.tenant.lock:
            revoked = self.tenant.extra.setdefault("revokedSessions", {})
            revoked[user.object_id] = revoked.get(user.object_id, 0) + 1
        return ok({"@odata.context": call.context("Edm.Boolean"), "value": True})

    def add_group_member(self, call: Call, object_id: str) -> Response:
        group = self.responses._group(object_id)
        ref = call.json_body().get("@odata.id")
        match = _DIRECTORY_OBJECT.search(str(ref or ""))
        if match is None:
            raise BadRequest("Invalid object identifier '" + str(ref) + "'.")
        member = self.tenant.user(match.group(1))
        if member is None:
            raise ResourceNotFound(match.group(1))
        with self.tenant.lock:
            if member.object_id in group.members:
                raise RequestBadRequest(
                    "One or more added object references already exist for the following modified "
                    "properties: 'members'."
                )
            group.members.append(member.object_id)
        return Response(status=204)

    def remove_group_member(self, call: Call, object_id: str, member_id: str) -> Response:
        group = self.responses._group(object_id)
        with self.tenant.lock:
            found = next((m for m in group.members if m.lower() == member_id.lower()), None)
            if found is None:
                raise ResourceNotFound(member_id)
            group.members.remove(found)
        return Response(status=204)
