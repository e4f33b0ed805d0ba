"""OData query options as Graph expects them, and when Graph needs `ConsistencyLevel: eventual`.

Directory objects (users, groups, applications, ...) answer `$count`, `$search`, and filters with
`ne`, `not`, `endsWith` or on `$count` only as *advanced queries*: the request must carry
`ConsistencyLevel: eventual`, and the filter forms also need `$count=true`
(https://learn.microsoft.com/graph/aad-advanced-queries). Without them Graph answers 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode

ParamValue = str | int | bool | Iterable[str] | None

# Filter forms that only advanced queries support.
_ADVANCED_FILTER = re.compile(r"\bne\b|\bnot\b|\bendswith\(|/\$count\b", re.IGNORECASE)


def odata_params(
    *,
    select: ParamValue = None,
    top: int | None = None,
    filter: str | None = None,
    count: bool | None = None,
    search: str | None = None,
    orderby: ParamValue = None,
    expand: ParamValue = None,
    params: Mapping[str, ParamValue] | None = None,
) -> tuple[dict[str, str], bool]:
    """The `$`-options as strings, and whether the request needs `ConsistencyLevel: eventual`."""
    out: dict[str, str] = {}
    for name, value in (
        ("$select", select),
        ("$expand", expand),
        ("$filter", filter),
        ("$search", search),
        ("$orderby", orderby),
        ("$top", top),
        ("$count", count),
    ):
        text = _text(value)
        if text is not None:
            out[name] = text
    for name, value in (params or {}).items():
        text = _text(value)
        if text is not None:
            out[name] = text
    advanced_filter = bool(filter and _ADVANCED_FILTER.search(filter))
    if advanced_filter and "$count" not in out:
        out["$count"] = "true"
    eventual = advanced_filter or out.get("$count") == "true" or "$search" in out
    return out, eventual


def query_string(params: Mapping[str, str]) -> str:
    """`$select=id,displayName&$filter=startswith(displayName,'A')`: `$ , ' ( )` stay readable."""
    return urlencode(params, quote_via=quote, safe="$,'():")


def _text(value: ParamValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return ",".join(value)
