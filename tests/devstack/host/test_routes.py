"""Route templates of the local host: ASP.NET Core syntax mapped onto werkzeug rules."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from devstack.host.errors import HostStartupError
from devstack.host.routes import RouteTable


def _match(table: RouteTable, path: str, method: str = "GET") -> tuple[str, dict[str, str]]:
    index, values = table.build().bind("localhost").match(path, method=method)
    target = table.targets[index]
    return target.endpoint, {**target.defaults, **values}


def _table(*routes: tuple[str, str, list[str] | None], prefix: str = "api") -> RouteTable:
    table = RouteTable(prefix)
    for endpoint, template, methods in routes:
        table.add(endpoint, template, methods)
    return table


def test_parameters_are_strings() -> None:
    """`{name}` and `{id:int}` values reach route_params as the text of the path."""
    table = _table(("runs", "jobs/{name}/runs/{id:int}", ["GET"]))
    assert _match(table, "/api/jobs/nightly/runs/007") == ("runs", {"name": "nightly", "id": "007"})


def test_typed_parameter_rejects_other_text() -> None:
    """A constraint that does not hold means no match (404), not a 400."""
    table = _table(("item", "items/{id:int}", None))
    with pytest.raises(NotFound):
        _match(table, "/api/items/abc")


def test_int_constraint_is_32_bit() -> None:
    """`int` stops at Int32 like .NET; `long` goes further."""
    table = _table(("small", "s/{v:int}", None), ("big", "b/{v:long}", None))
    with pytest.raises(NotFound):
        _match(table, "/api/s/3000000000")
    assert _match(table, "/api/b/3000000000")[1] == {"v": "3000000000"}


def test_optional_parameter_may_be_left_out() -> None:
    """`{runId:guid?}` matches with and without the segment; when absent it is not in route_params."""
    table = _table(("runs", "jobs/{name}/runs/{runId:guid?}", ["GET"]))
    assert _match(table, "/api/jobs/a/runs") == ("runs", {"name": "a"})
    guid = "6f2b1c1e-0000-4000-8000-000000000000"
    assert _match(table, f"/api/jobs/a/runs/{guid}") == ("runs", {"name": "a", "runId": guid})
    with pytest.raises(NotFound):
        _match(table, "/api/jobs/a/runs/not-a-guid")


def test_default_value_fills_a_missing_parameter() -> None:
    """`{page:int=1}` gives "1" when the segment is absent."""
    table = _table(("list", "list/{page:int=1}", None))
    assert _match(table, "/api/list") == ("list", {"page": "1"})
    assert _match(table, "/api/list/3") == ("list", {"page": "3"})


def test_catch_all_spans_segments() -> None:
    """`{*rest}` takes the rest of the path, slashes included, and may be empty."""
    table = _table(("files", "files/{*rest}", None))
    assert _match(table, "/api/files/a/b/c.txt") == ("files", {"rest": "a/b/c.txt"})
    assert _match(table, "/api/files") == ("files", {})


def test_literal_route_wins_over_parameter() -> None:
    """`jobs/special` is preferred to `jobs/{name}`, as in ASP.NET Core."""
    table = _table(("any", "jobs/{name}", None), ("special", "jobs/special", None))
    assert _match(table, "/api/jobs/special")[0] == "special"
    assert _match(table, "/api/jobs/other")[0] == "any"


def test_methods_are_exact() -> None:
    """Only the declared methods match: no implicit HEAD for GET; 405 lists the allowed ones."""
    table = _table(("h", "health", ["GET"]))
    with pytest.raises(MethodNotAllowed) as info:
        _match(table, "/api/health", "HEAD")
    assert info.value.valid_methods == ["GET"]


def test_no_methods_means_all() -> None:
    """A route without methods accepts any method."""
    table = _table(("any", "anything", None))
    assert _match(table, "/api/anything", "PATCH")[0] == "any"


def test_empty_prefix_and_trailing_slash() -> None:
    """With routePrefix "" routes sit at the root; a trailing slash still matches (no redirect)."""
    table = _table(("h", "health", None), prefix="")
    assert _match(table, "/health/")[0] == "h"


def test_constraints_with_arguments() -> None:
    """min/max/range/length/regex constraints are checked."""
    table = _table(
        ("r", "r/{n:range(1,5)}", None),
        ("l", "l/{s:length(2,3)}", None),
        ("x", "x/{s:regex(^ab+$)}", None),
        ("m", "m/{n:int:min(10)}", None),
    )
    assert _match(table, "/api/r/5")[1] == {"n": "5"}
    assert _match(table, "/api/l/abc")[1] == {"s": "abc"}
    assert _match(table, "/api/x/ABBB")[1] == {"s": "ABBB"}
    assert _match(table, "/api/m/10")[1] == {"n": "10"}
    for path in ("/api/r/6", "/api/l/abcd", "/api/x/ba", "/api/m/9"):
        with pytest.raises(NotFound):
            _match(table, path)


@pytest.mark.parametrize("template", ["a/{id:nosuch}", "a/{id?}/b", "a/{bad-name}", "a/{open"])
def test_invalid_templates_fail_at_start(template: str) -> None:
    """Unknown constraints, optional parameters not at the end and bad names stop the start."""
    with pytest.raises(HostStartupError):
        RouteTable("api").add("f", template, None)


def test_literals_match_case_insensitively() -> None:
    """`/API/Health` reaches the `health` route, as ASP.NET Core routing matches literals ignoring case."""
    table = _table(("h", "health", ["GET"]), ("runs", "Jobs/{name}/runs", None))
    assert _match(table, "/API/Health")[0] == "h"
    assert _match(table, "/api/HEALTH/")[0] == "h"
    assert _match(table, "/Api/jobs/x/RUNS")[0] == "runs"


def test_parameters_keep_the_callers_case() -> None:
    """Route values are the text the caller sent, whatever the case of the literals around them."""
    table = _table(("runs", "jobs/{name}/runs/{*rest}", None))
    assert _match(table, "/API/JOBS/NightlyJob/Runs/A/b") == ("runs", {"name": "NightlyJob", "rest": "A/b"})


def test_mixed_segments_match_case_insensitively() -> None:
    """Literal text in a segment with parameters (`{name}.TXT`) ignores case too; the value keeps its own."""
    table = _table(("file", "files/{name}.TXT", None))
    assert _match(table, "/api/Files/ReadMe.txt") == ("file", {"name": "ReadMe"})
    with pytest.raises(NotFound):
        _match(table, "/api/files/ReadMe.md")


def test_literal_still_wins_over_parameter_in_any_case() -> None:
    """`jobs/special` is preferred to `jobs/{name}` also when the caller writes `jobs/SPECIAL`."""
    table = _table(("any", "jobs/{name}", None), ("special", "jobs/special", None))
    assert _match(table, "/api/jobs/SPECIAL")[0] == "special"
