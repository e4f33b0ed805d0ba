"""OData query options as Graph applies them to directory collections; no HTTP here.

`ODataQuery.parse(args, consistency_level)` reads `$select`, `$top`, `$filter`, `$count` and
`$skiptoken`; `apply(query, items, entity)` filters, pages and projects a list of JSON objects.
Supported `$filter` subset: `prop eq 'text'`, `prop eq true|false`, `startswith(prop,'text')`,
joined with `and`; a property the entity does not filter on gets Graph's 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from devstack.graph.exceptions import BadRequest, RequestBadRequest, UnsupportedQuery

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999

Item = dict[str, Any]
Predicate = Callable[[Item], bool]


@dataclass(frozen=True)
class Entity:
    """What a collection's items are: names for errors and which properties `$select`/`$filter` know."""

    collection: str  # "users": the @odata.context fragment
    resource: str  # "User": named in filter errors
    type_name: str  # "Microsoft.DirectoryServices.User": named in $select errors
    properties: frozenset[str]  # every property $select accepts
    filterable: frozenset[str]
    defaults: frozenset[str] = frozenset()  # returned without $select; empty means all


@dataclass(frozen=True)
class ODataQuery:
    select: tuple[str, ...] = ()
    top: int | None = None
    filter: str | None = None
    count: bool = False
    skip: int = 0  # decoded from $skiptoken
    extra: Mapping[str, str] = field(default_factory=dict)  # other parameters, kept in nextLink

    @classmethod
    def parse(cls, args: Mapping[str, str], consistency_level: str | None = None) -> ODataQuery:
        select = tuple(p.strip() for p in args.get("$select", "").split(",") if p.strip())
        top: int | None = None
        if "$top" in args:
            raw = args["$top"]
            try:
                top = int(raw)
            except ValueError:
                raise UnsupportedQuery.page_size(raw) from None
            if not 1 <= top <= MAX_PAGE_SIZE:
                raise UnsupportedQuery.page_size(raw)
        count = args.get("$count", "").lower() == "true"
        # Directory objects count only as an "advanced query" (ConsistencyLevel: eventual).
        if count and (consistency_level or "").lower() != "eventual":
            raise RequestBadRequest.count_unsupported()
        skip = decode_skiptoken(args["$skiptoken"]) if "$skiptoken" in args else 0
        known = {"$select", "$top", "$filter", "$count", "$skiptoken"}
        extra = {k: v for k, v in args.items() if k not in known}
        return cls(select, top, args.get("$filter") or None, count, skip, extra)

    @property
    def page_size(self) -> int:
        return self.top or DEFAULT_PAGE_SIZE

    def next_params(self, offset: int) -> dict[str, str]:
        """The query string of the next page: the same options plus an opaque $skiptoken."""
        params = dict(self.extra)
        if self.select:
            params["$select"] = ",".join(self.select)
        if self.top is not None:
            params["$top"] = str(self.top)
        if self.filter:
            params["$filter"] = self.filter
        if self.count:
            params["$count"] = "true"
        params["$skiptoken"] = encode_skiptoken(offset)
        return params


def encode_skiptoken(offset: int) -> str:
    # Opaque to clients, as Graph's is: they must follow nextLink, not build tokens.
    raw = json.dumps({"v": 1, "o": offset}).encode()
    return "X" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token[1:] + "=" * (-len(token[1:]) % 4))
        offset = int(json.loads(raw)["o"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError, binascii.Error):
        raise BadRequest("Invalid $skiptoken.") from None  # ≈
    if not token.startswith("X") or offset < 0:
        raise BadRequest("Invalid $skiptoken.")
    return offset


# -- $select ------------------------------------------------------------------
def check_select(query: ODataQuery, entity: Entity) -> None:
    for prop in query.select:
        if prop != "*" and prop not in entity.properties:
            raise RequestBadRequest.unknown_property(prop, entity.type_name)


def project(item: Item, query: ODataQuery, entity: Entity) -> Item:
    """Only the selected properties (Graph does not add `id` unless asked); `@odata.*` stay.

    Without `$select`, the entity's default set (Graph returns e.g. `department` only on $select).
    """
    if not query.select or "*" in query.select:
        if not entity.defaults or "*" in query.select:
            return dict(item)
        return {k: v for k, v in item.items() if k in entity.defaults or k.startswith("@odata.")}
    keep = {k: v for k, v in item.items() if k.startswith("@odata.")}
    keep.update({p: item.get(p) for p in query.select})
    return keep


# -- $filter ------------------------------------------------------------------
_STRING = r"'((?:[^']|'')*)'"
_EQ = re.compile(rf"^(\w+)\s+eq\s+(?:{_STRING}|(true|false|null))$", re.IGNORECASE)
_STARTSWITH = re.compile(rf"^startswith\(\s*(\w+)\s*,\s*{_STRING}\s*\)$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_OTHER_OPERATOR = re.compile(r"^(\w+)\s+(?:ne|gt|ge|lt|le|in|has)\s", re.IGNORECASE)
_OTHER_FUNCTION = re.compile(r"^\w+\(\s*(\w+)\s*[,)]")


def compile_filter(text: str, entity: Entity) -> Predicate:
    clauses = [_compile_clause(c.strip(), text, entity) for c in _AND.split(text.strip())]
    return lambda item: all(c(item) for c in clauses)


def _compile_clause(clause: str, text: str, entity: Entity) -> Predicate:
    if m := _EQ.match(clause):
        prop, string, literal = m.group(1), m.group(2), m.group(3)
        _check_filterable(prop, entity)
        if string is not None:
            wanted: Any = string.replace("''", "'")
            # Directory string comparisons are case-insensitive.
            return lambda item: str(item.get(prop) or "").lower() == str(wanted).lower()
        wanted = {"true": True, "false": False, "null": None}[literal.lower()]
        return lambda item: item.get(prop) == wanted
    if m := _STARTSWITH.match(clause):
        prop, prefix = m.group(1), m.group(2).replace("''", "'").lower()
        _check_filterable(prop, entity)
        return lambda item: str(item.get(prop) or "").lower().startswith(prefix)
    # Well-formed but outside the subset (ne, in, endswith(...), ...): Graph's "unsupported" 400.
    if m := _OTHER_OPERATOR.match(clause) or _OTHER_FUNCTION.match(clause):
        raise UnsupportedQuery.filter_property(m.group(1), entity.resource)
    raise BadRequest.filter_syntax(text)


def _check_filterable(prop: str, entity: Entity) -> None:
    if prop not in entity.filterable:
        raise UnsupportedQuery.filter_property(prop, entity.resource)


# -- the whole pipeline -------------------------------------------------------
@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_offset: int | None  # None: last page
    total: int  # after $filter, for @odata.count


def apply(query: ODataQuery, items: Sequence[Item], entity: Entity) -> Page:
    """Filter, then page from the $skiptoken offset, then project with $select."""
    check_select(query, entity)
    matching = list(items)
    if query.filter:
        predicate = compile_filter(query.filter, entity)
        matching = [i for i in matching if predicate(i)]
    start, end = query.skip, query.skip + query.page_size
    page = [project(i, query, entity) for i in matching[start:end]]
    return Page(page, end if end < len(matching) else None, len(matching))
