"""Managed identity by client id, object (principal) id or resource id, against the identity endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.offline_tenant import OfflineTenant
from shared.config import load_settings
from shared.errors import AuthenticationFailedError, ConfigurationError
from shared.identity import connection, reset_connections
from tests.app_env import app_connection, by_operation, configure, reset_counts

GRAPH = "graph"
SHAPE = (
    "/subscriptions/<subscription>/resourceGroups/<group>/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
)


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    reset_connections()


def _identity(devstack: OfflineTenant, name: str = "id-entra-automation") -> Any:
    return next(i for i in devstack.tenant.identities if i.name == name)


def _ids(devstack: OfflineTenant) -> dict[str, str]:
    mi = _identity(devstack)
    return {"CLIENT_ID": mi.client_id, "OBJECT_ID": mi.object_id, "RESOURCE_ID": mi.resource_id}


@pytest.mark.parametrize("kind", ["CLIENT_ID", "OBJECT_ID", "RESOURCE_ID"])
def test_a_connection_names_its_identity_by_any_id(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """MANAGED_IDENTITY_<KIND> selects the user-assigned identity; its token carries that identity's oid."""
    value = _ids(devstack)[kind]
    configure(
        monkeypatch, devstack, {"mi": {"CREDENTIAL": "managed-identity", f"MANAGED_IDENTITY_{kind}": value}}
    )
    token = connection("mi").token(GRAPH)
    mi = _identity(devstack)
    assert (token.claims["oid"], token.claims["appid"]) == (mi.object_id, mi.client_id)
    facts = connection("mi").facts.managed_identity
    assert (facts.type, facts.object_id) == ("user-assigned", mi.object_id)
    assert facts.resource_id == (mi.resource_id if kind == "RESOURCE_ID" else None)


@pytest.mark.parametrize(
    ("setting", "kind"),
    [
        ("AZURE_CLIENT_ID", "CLIENT_ID"),
        ("AZURE_MANAGED_IDENTITY_OBJECT_ID", "OBJECT_ID"),
        ("AZURE_MANAGED_IDENTITY_RESOURCE_ID", "RESOURCE_ID"),
    ],
)
def test_the_apps_identity_by_any_id_reads_key_vault(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, setting: str, kind: str
) -> None:
    """The app's own identity, named by any of its ids, reads the vault for a certificate connection."""
    monkeypatch.delenv("AZURE_CLIENT_ID", raising=False)
    configure(
        monkeypatch,
        devstack,
        {"cert": app_connection(devstack, "certificate", CERTIFICATE="entra-automation-cert")},
        **{setting: _ids(devstack)[kind]},
    )
    if setting != "AZURE_CLIENT_ID":
        monkeypatch.delenv("AZURE_CLIENT_ID", raising=False)
        reset_connections()
    reset_counts(devstack)
    assert connection("cert").token(GRAPH).claims["roles"]
    assert by_operation(devstack, "keyvault").get("GetSecret", 0) >= 1
    assert connection("cert").facts.managed_identity.object_id == _identity(devstack).object_id


def test_an_object_id_in_the_client_id_setting_names_the_setting(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object id put where a client id belongs: the endpoint's 400 becomes a hint naming the setting."""
    object_id = _identity(devstack).object_id
    configure(
        monkeypatch,
        devstack,
        {"mi": {"CREDENTIAL": "managed-identity", "MANAGED_IDENTITY_CLIENT_ID": object_id}},
    )
    with pytest.raises(AuthenticationFailedError) as info:
        connection("mi").token(GRAPH)
    assert (info.value.status, info.value.step, info.value.code) == (
        400,
        "identity-endpoint",
        "identity_not_assigned",
    )
    assert str(info.value.message) == (
        "The managed identity endpoint has no user-assigned identity (client id "
        f"{object_id}) (No User Assigned or Delegated Managed Identity found for specified "
        "ClientId/ResourceId/PrincipalId.)."
    )
    assert (info.value.hint or "").startswith(
        "CONNECTIONS__MI__MANAGED_IDENTITY_CLIENT_ID holds a client id: check that a user-assigned "
        "identity with that client id is assigned to the function app"
    )


WRONG_KINDS = [
    (
        "AZURE_MANAGED_IDENTITY_RESOURCE_ID",
        "eae93b2c-b513-4468-a36e-aaf06544a6c2",
        "AZURE_MANAGED_IDENTITY_RESOURCE_ID must be the user-assigned identity's resource id, " + SHAPE + " "
        "(Azure portal: Managed Identities > Properties > Resource ID); this is a GUID: a client id goes "
        "in AZURE_CLIENT_ID, an object (principal) id in AZURE_MANAGED_IDENTITY_OBJECT_ID.",
    ),
    (
        "AZURE_MANAGED_IDENTITY_RESOURCE_ID",
        "id-entra-automation",
        "AZURE_MANAGED_IDENTITY_RESOURCE_ID must be the user-assigned identity's resource id, " + SHAPE + " "
        "(Azure portal: Managed Identities > Properties > Resource ID); this is not a resource id.",
    ),
    (
        "AZURE_CLIENT_ID",
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/n",
        "AZURE_CLIENT_ID must be the managed identity's client id, a GUID (Azure portal: Managed "
        "Identities > Overview > Client ID; its object (principal) id goes in "
        "AZURE_MANAGED_IDENTITY_OBJECT_ID); this looks like a resource id: set "
        "AZURE_MANAGED_IDENTITY_RESOURCE_ID instead.",
    ),
    (
        "AZURE_MANAGED_IDENTITY_OBJECT_ID",
        "{d171ade5-6abf-4b05-8949-3b62e75cacb9}",
        "AZURE_MANAGED_IDENTITY_OBJECT_ID must be the managed identity's object (principal) id, a GUID "
        "(Azure portal: Managed Identities > Overview > Object (principal) ID; its client id goes in "
        "AZURE_CLIENT_ID); remove the braces.",
    ),
    (
        "AZURE_MANAGED_IDENTITY_OBJECT_ID",
        "api://d171ade5",
        "AZURE_MANAGED_IDENTITY_OBJECT_ID must be the managed identity's object (principal) id, a GUID "
        "(Azure portal: Managed Identities > Overview > Object (principal) ID; its client id goes in "
        "AZURE_CLIENT_ID); this looks like an application id URI.",
    ),
    (
        "AZURE_CLIENT_ID",
        "my-identity",
        "AZURE_CLIENT_ID must be the managed identity's client id, a GUID (Azure portal: Managed "
        "Identities > Overview > Client ID; its object (principal) id goes in "
        "AZURE_MANAGED_IDENTITY_OBJECT_ID); this is not a GUID.",
    ),
]


@pytest.mark.parametrize(("setting", "value", "message"), WRONG_KINDS)
def test_a_wrong_kind_of_id_names_the_setting_and_what_it_expects(
    setting: str, value: str, message: str
) -> None:
    """A value that cannot be the kind of id its setting holds is refused with the setting and the fix."""
    with pytest.raises(ConfigurationError) as info:
        load_settings({setting: value})
    assert str(info.value) == message


def test_a_connection_id_setting_is_named_in_its_message() -> None:
    """A connection's MANAGED_IDENTITY_RESOURCE_ID holding a GUID names the connection's sibling settings."""
    settings = load_settings(
        {
            "CONNECTIONS__MI__CREDENTIAL": "managed-identity",
            "CONNECTIONS__MI__MANAGED_IDENTITY_RESOURCE_ID": "eae93b2c-b513-4468-a36e-aaf06544a6c2",
        }
    )
    with pytest.raises(ConfigurationError) as info:
        settings.connection("mi")
    assert (
        "this is a GUID: a client id goes in CONNECTIONS__MI__MANAGED_IDENTITY_CLIENT_ID, an object "
        in str(info.value)
    )
    assert str(info.value).startswith(
        "CONNECTIONS__MI__MANAGED_IDENTITY_RESOURCE_ID must be the user-assigned"
    )


def test_two_ids_for_one_identity_are_refused() -> None:
    """Setting two of the three id settings is refused, naming both."""
    with pytest.raises(ConfigurationError) as info:
        load_settings(
            {
                "AZURE_CLIENT_ID": "eae93b2c-b513-4468-a36e-aaf06544a6c2",
                "AZURE_MANAGED_IDENTITY_OBJECT_ID": "d171ade5-6abf-4b05-8949-3b62e75cacb9",
            }
        )
    assert str(info.value) == (
        "AZURE_CLIENT_ID and AZURE_MANAGED_IDENTITY_OBJECT_ID both name a managed identity; set only one."
    )


def test_client_id_and_identity_setting_that_disagree_are_refused() -> None:
    """A managed-identity connection whose CLIENT_ID and MANAGED_IDENTITY_OBJECT_ID disagree is refused."""
    settings = load_settings(
        {
            "CONNECTIONS__MI__CREDENTIAL": "managed-identity",
            "CONNECTIONS__MI__CLIENT_ID": "eae93b2c-b513-4468-a36e-aaf06544a6c2",
            "CONNECTIONS__MI__MANAGED_IDENTITY_OBJECT_ID": "d171ade5-6abf-4b05-8949-3b62e75cacb9",
        }
    )
    with pytest.raises(ConfigurationError) as info:
        settings.connection("mi")
    assert str(info.value) == (
        "CONNECTIONS__MI__CLIENT_ID and CONNECTIONS__MI__MANAGED_IDENTITY_OBJECT_ID name different "
        "identities; set one."
    )
