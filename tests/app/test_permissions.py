"""Declared role requirements and their comparison with a token's roles."""

from __future__ import annotations

import pytest

from shared.permissions import GRAPH, PermissionRegistry, compare, normalize_resource


def test_compare_reports_granted_missing_and_unused() -> None:
    """Required-but-not-granted roles are missing; granted-but-not-required ones unused."""
    diff = compare(
        ["Organization.Read.All", "Group.Read.All"],
        {"Organization.Read.All": ["context"], "User.Read.All": ["job:stale-guests"]},
    )
    assert diff.granted == ("Group.Read.All", "Organization.Read.All")
    assert diff.missing == ("User.Read.All",)
    assert diff.unused == ("Group.Read.All",)
    assert diff.required["User.Read.All"] == ("job:stale-guests",)


def test_readwrite_satisfies_read() -> None:
    """X.ReadWrite.All covers a requirement for X.Read.All, and is then not unused."""
    diff = compare(["User.ReadWrite.All"], {"User.Read.All": ["job"]})
    assert diff.missing == ()
    assert diff.unused == ()


def test_read_does_not_satisfy_readwrite() -> None:
    """X.Read.All does not cover X.ReadWrite.All."""
    assert compare(["User.Read.All"], {"User.ReadWrite.All": ["job"]}).missing == ("User.ReadWrite.All",)


@pytest.mark.parametrize(
    "uri",
    [
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
        "https://GRAPH.microsoft.com/.default",
        "https://graph.microsoft.us",
        "00000003-0000-0000-c000-000000000000",
        "graph",
    ],
)
def test_graph_has_one_name_in_every_cloud(uri: str) -> None:
    """Graph URIs of every cloud, its app id and `graph` normalize to the same name."""
    assert normalize_resource(uri) == GRAPH


def test_registry_groups_by_resource_and_includes_every_connection() -> None:
    """for_connection merges the connection's own and the `*` declarations, with who needs each role."""
    reg = PermissionRegistry()
    reg.require("*", GRAPH, roles={"Organization.Read.All"}, by="context")
    reg.require("Graph-Cert", "https://graph.microsoft.com/.default", roles={"User.Read.All"}, by="job:a")
    reg.require("graph-cert", GRAPH, roles={"User.Read.All"}, by="job:b")
    reg.require("other", GRAPH, roles={"Group.Read.All"}, by="job:c")
    assert reg.for_connection("graph-cert") == {
        GRAPH: {"Organization.Read.All": ("context",), "User.Read.All": ("job:a", "job:b")}
    }
    assert reg.declared_connections() == {"graph-cert", "other"}


def test_require_is_idempotent_and_withdrawable() -> None:
    """Declaring twice keeps one entry; withdraw removes it."""
    reg = PermissionRegistry()
    item = reg.require("c", GRAPH, roles={"User.Read.All"}, by="job")
    reg.require("c", GRAPH, roles={"User.Read.All"}, by="job")
    reg.withdraw(item)
    assert reg.for_connection("c") == {}


def test_require_rejects_empty_declarations() -> None:
    """A declaration without roles or `by` is a programming error."""
    with pytest.raises(ValueError, match="require"):
        PermissionRegistry().require("c", GRAPH, roles=set(), by="job")


def test_a_setting_named_connection_is_read_when_the_report_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """`$SETTING` declarations follow the setting's current value; none while it is unset."""
    reg = PermissionRegistry()
    reg.require("$MY_APP__CONNECTION", GRAPH, roles={"User.Read.All"}, by="automation:a")
    monkeypatch.delenv("MY_APP__CONNECTION", raising=False)
    assert reg.for_connection("graph_cert") == {}
    assert reg.declared_connections() == set()
    monkeypatch.setenv("MY_APP__CONNECTION", "Graph_Cert")
    assert reg.for_connection("graph_cert") == {GRAPH: {"User.Read.All": ("automation:a",)}}
    assert reg.declared_connections() == {"graph_cert"}
    monkeypatch.setenv("MY_APP__CONNECTION", "other")
    assert reg.for_connection("graph_cert") == {}


def test_indexing_the_app_declares_the_built_in_automations_graph_roles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once function_app is imported, the automations' connection needs the app-mode built-ins' roles."""
    import function_app  # noqa: F401 - indexing registers the declarations
    from shared.permissions import registry

    monkeypatch.setenv("AUTOMATIONS__CONNECTION", "graph_cert")
    graph = registry.for_connection("graph_cert")[GRAPH]
    assert graph["User.RevokeSessions.All"] == ("automation:revoke-sessions",)
    assert graph["GroupMember.ReadWrite.All"] == ("automation:group-membership",)
    # whoami runs on behalf of the caller: its permission is delegated, not the app's.
    assert not any("delegated" in role for role in graph)
