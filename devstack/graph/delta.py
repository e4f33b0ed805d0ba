"""Delta queries on users and groups (`/users/delta`, `/groups/delta`) over the change log; no HTTP.

A first round (no token) pages through every current object; its last page carries a
`$deltatoken` for "everything after the change log's position when the round began". A round
from a token pages through the objects changed since: each once, as it is now, or as
`{"id", "@removed": {"reason"}}` when deleted (users: "changed", restorable as in Graph;
groups: "deleted"). Groups carry `members@delta` (members added, and removed ones with
`@removed`) when `$select` names `members` or there is no `$select`. Tokens are opaque to
clients (https://learn.microsoft.com/graph/delta-query-overview).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from devstack.graph.exceptions import BadRequest
from devstack.graph.models import Change, GraphBackend

Item = dict[str, Any]
DEFAULT_PAGE_SIZE = 100
_REMOVED_REASON = {"users": "changed", "groups": "deleted"}


@dataclass(frozen=True)
class DeltaState:
    """Where a round is: the change range (since, upto], the offset within it, the $select."""

    resource: str
    since: int | None  # None: the first round (every object)
    upto: int
    offset: int = 0
    select: tuple[str, ...] = ()

    def encode(self) -> str:
        raw = json.dumps([self.resource, self.since, self.upto, self.offset, list(self.select)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, resource: str) -> DeltaState:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            kind, since, upto, offset, select = json.loads(raw)
            state = cls(
                str(kind), None if since is None else int(since), int(upto), int(offset), tuple(select)
            )
        except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
            raise BadRequest("Invalid delta token.") from None  # ≈
        if state.resource != resource or state.offset < 0:
            raise BadRequest("Invalid delta token.")  # ≈
        return state


@dataclass(frozen=True)
class DeltaPage:
    items: list[Item]
    next_token: str | None  # $skiptoken for the nextLink
    delta_token: str | None  # $deltatoken for the deltaLink (last page only)


def delta_page(
    backend: GraphBackend,
    state: DeltaState,
    page_size: int,
    render: Callable[[str, str], Item | None],
    project: Callable[[Item], Item],
) -> DeltaPage:
    """One page of a round. `render(resource, id)` is the object's JSON (None when gone)."""
    rows = _rows(backend, state)
    window = rows[state.offset : state.offset + page_size]
    items = []
    for object_id, added, removed in window:
        current = render(state.resource, object_id)
        if current is None:
            items.append({"id": object_id, "@removed": {"reason": _REMOVED_REASON[state.resource]}})
            continue
        item = project(current)
        item["id"] = current["id"]
        if state.resource == "groups" and (not state.select or "members" in state.select):
            item["members@delta"] = [{"@odata.type": "#microsoft.graph.user", "id": oid} for oid in added] + [
                {"@odata.type": "#microsoft.graph.user", "id": oid, "@removed": {"reason": "deleted"}}
                for oid in removed
            ]
        items.append(item)
    end = state.offset + page_size
    if end < len(rows):
        following = DeltaState(state.resource, state.since, state.upto, end, state.select)
        return DeltaPage(items, following.encode(), None)
    after = DeltaState(state.resource, state.upto, state.upto, 0, state.select)
    return DeltaPage(items, None, after.encode())


def _rows(backend: GraphBackend, state: DeltaState) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(object id, members added, members removed) for each object of the round, in order."""
    tenant = backend.tenant
    if state.since is None:
        if state.resource == "users":
            return [(u.object_id, (), ()) for u in tenant.users]
        return [(g.object_id, tuple(g.members), ()) for g in tenant.groups]
    changes: Sequence[Change] = [
        c for c in backend.changes if c.resource == state.resource and state.since < c.seq <= state.upto
    ]
    order: dict[str, tuple[list[str], list[str]]] = {}
    for c in changes:
        added, removed = order.pop(c.object_id, ([], []))
        for oid in c.members_added:
            if oid in removed:
                removed.remove(oid)
            else:
                added.append(oid)
        for oid in c.members_removed:
            if oid in added:
                added.remove(oid)
            else:
                removed.append(oid)
        order[c.object_id] = (added, removed)  # re-inserted: ordered by latest change
    return [(oid, tuple(a), tuple(r)) for oid, (a, r) in order.items()]
