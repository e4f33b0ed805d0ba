"""The Microsoft Graph emulator over real sockets and TLS: auth, reads, queries, $batch, subscriptions."""

from __future__ import annotations

import time
from typing import Any

import msal
import pytest
import requests

from devstack.graph import REQUIRED, GraphEmulator
from devstack.graph.urls import URLS
from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import GRAPH_APP_ID, KEY_VAULT_APP_ID, sha1_hex
from devstack.tenant.tokens import TokenIssuer
from tests.conftest import tls_session
from tests.devstack.graph.support import (
    DENIED,
    GRAPH,
    Subscriber,
    app_token,
    bearer,
    error,
    in_minutes,
    subscription,
    user_token,
)


# -- directory reads ------------------------------------------------------------
def test_organization_describes_the_tenant(
    devstack: OfflineTenant, api: requests.Session, graph: str
) -> None:
    """/organization lists the one tenant with its id, name and verified default domain."""
    body = api.get(f"{graph}/organization").json()
    (org,) = body["value"]
    assert org["id"] == devstack.tenant.tenant_id
    assert org["displayName"] == devstack.tenant.display_name
    assert org["verifiedDomains"][0]["name"] == devstack.tenant.default_domain
    assert body["@odata.context"].endswith("/v1.0/$metadata#organization")


def test_paging_reaches_every_user(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """Following @odata.nextLink from 100-item pages yields every user exactly once."""
    url: str | None = f"{graph}/users"
    seen: list[str] = []
    pages = 0
    while url:
        body = api.get(url).json()
        assert len(body["value"]) <= 100
        seen += [u["id"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        assert url is None or url.startswith(devstack.servers["graph"].url)
        pages += 1
    assert len(seen) == len(set(seen)) == len(devstack.tenant.users) == 250
    assert pages == 3


def test_next_link_keeps_select_and_top(api: requests.Session, graph: str) -> None:
    """The nextLink carries the same $select and $top, so later pages have the same shape."""
    first = api.get(f"{graph}/users", params={"$top": "5", "$select": "id,userPrincipalName"}).json()
    second = api.get(first["@odata.nextLink"]).json()
    assert len(second["value"]) == 5
    assert all(set(u) == {"id", "userPrincipalName"} for u in second["value"])
    assert {u["id"] for u in first["value"]}.isdisjoint(u["id"] for u in second["value"])


def test_select_projects_and_rejects_unknown(api: requests.Session, graph: str) -> None:
    """$select returns only the named properties; an unknown one gets Graph's 400."""
    body = api.get(f"{graph}/users", params={"$select": "displayName,department", "$top": "3"}).json()
    assert all(set(u) == {"displayName", "department"} for u in body["value"])
    assert body["@odata.context"].endswith("#users(displayName,department)")
    default = api.get(f"{graph}/users", params={"$top": "1"}).json()["value"][0]
    assert "department" not in default  # returned only on $select, as in Graph
    assert error(api.get(f"{graph}/users", params={"$select": "shoeSize"})) == (
        400,
        "Request_BadRequest",
        "Could not find a property named 'shoeSize' on type 'Microsoft.DirectoryServices.User'.",
    )


@pytest.mark.parametrize("top", ["0", "1000", "-1", "many"])
def test_top_out_of_bounds_is_refused(api: requests.Session, graph: str, top: str) -> None:
    """$top outside 1-999 gets 400 Request_UnsupportedQuery with Graph's text."""
    assert error(api.get(f"{graph}/users", params={"$top": top})) == (
        400,
        "Request_UnsupportedQuery",
        f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
    )


def test_top_999_is_one_page(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """$top=999 returns all 250 users on one page with no nextLink."""
    body = api.get(f"{graph}/users", params={"$top": "999"}).json()
    assert len(body["value"]) == len(devstack.tenant.users)
    assert "@odata.nextLink" not in body


def test_filter_subset(api: requests.Session, graph: str) -> None:
    """eq and startswith filter; an unsupported property or operator gets Graph's 400."""
    adele = api.get(f"{graph}/users", params={"$filter": "displayName eq 'Adele Vance'"}).json()["value"]
    assert [u["displayName"] for u in adele] == ["Adele Vance"]
    page = api.get(f"{graph}/users", params={"$filter": "startswith(userPrincipalName,'user00')"}).json()
    assert len(page["value"]) == 9
    assert error(api.get(f"{graph}/users", params={"$filter": "officeLocation eq 'x'"})) == (
        400,
        "Request_UnsupportedQuery",
        "Unsupported or invalid query filter clause specified for property 'officeLocation' "
        "of resource 'User'.",
    )
    status, code, _ = error(api.get(f"{graph}/users", params={"$filter": "endswith(mail,'x')"}))
    assert (status, code) == (400, "Request_UnsupportedQuery")


def test_count_needs_consistency_level(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """$count=true works only as an advanced query (ConsistencyLevel: eventual), as in Graph."""
    counted = api.get(
        f"{graph}/users", params={"$count": "true", "$top": "1"}, headers={"ConsistencyLevel": "eventual"}
    ).json()
    assert counted["@odata.count"] == len(devstack.tenant.users)
    status, code, _ = error(api.get(f"{graph}/users", params={"$count": "true"}))
    assert (status, code) == (400, "Request_BadRequest")


def test_user_by_upn_and_missing_user(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """A user is found by object id or UPN; an unknown id gets 404 Request_ResourceNotFound."""
    upn = f"adele.vance@{devstack.tenant.default_domain}"
    by_upn = api.get(f"{graph}/users/{upn}").json()
    assert api.get(f"{graph}/users/{by_upn['id']}").json()["userPrincipalName"] == upn
    missing = "00000000-0000-0000-0000-000000000001"
    assert error(api.get(f"{graph}/users/{missing}")) == (
        404,
        "Request_ResourceNotFound",
        f"Resource '{missing}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def test_group_members(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """A group's members are its seeded users, typed as microsoft.graph.user."""
    groups = api.get(f"{graph}/groups", params={"$filter": "mailNickname eq 'marketing'"}).json()["value"]
    members = api.get(f"{graph}/groups/{groups[0]['id']}/members").json()["value"]
    assert {m["userPrincipalName"].split("@")[0] for m in members} == {"alex.wilber", "megan.bowen"}
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in members)


def test_application_credentials(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """keyCredentials show the SHA-1 thumbprint and no key on a list; passwords a hint, never the text."""
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    listed = api.get(f"{graph}/applications", params={"$filter": f"appId eq '{app.app_id}'"}).json()["value"]
    (registration,) = listed
    thumbprints = {k["customKeyIdentifier"] for k in registration["keyCredentials"]}
    assert thumbprints == {sha1_hex(k.certificate) for k in app.key_credentials}
    for key in registration["keyCredentials"]:
        assert key["key"] is None
        assert (key["type"], key["usage"]) == ("AsymmetricX509Cert", "Verify")
    (password,) = registration["passwordCredentials"]
    assert password["secretText"] is None
    assert password["hint"] == app.password_credentials[0].secret[:3]
    selected = api.get(f"{graph}/applications/{app.object_id}", params={"$select": "keyCredentials"}).json()
    assert all(k["key"] for k in selected["keyCredentials"])
    by_app_id = api.get(f"{graph}/applications(appId='{app.app_id}')").json()
    assert by_app_id["id"] == app.object_id


def test_federated_identity_credentials(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """The app's federated credential names the managed identity's object id as subject."""
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    (fic,) = api.get(f"{graph}/applications/{app.object_id}/federatedIdentityCredentials").json()["value"]
    assert fic["subject"] == devstack.user_assigned().object_id
    assert fic["audiences"] == ["api://AzureADTokenExchange"]


def test_app_role_assignments(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """appRoleAssignments list the granted Graph roles with the ids Graph's own appRoles publish."""
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    graph_sp = api.get(f"{graph}/servicePrincipals(appId='{GRAPH_APP_ID}')").json()
    role_ids = {r["value"]: r["id"] for r in graph_sp["appRoles"]}
    assert role_ids["User.Read.All"] == "df021288-bdef-4463-88db-98f22de89214"
    assignments = api.get(
        f"{graph}/servicePrincipals/{app.sp_object_id}/appRoleAssignments",
        params={"$filter": f"resourceId eq '{graph_sp['id']}'"},
    ).json()["value"]
    granted = devstack.tenant.roles_for(app.sp_object_id, GRAPH_APP_ID)
    assert {a["appRoleId"] for a in assignments} == {role_ids[r] for r in granted}
    assert {a["resourceDisplayName"] for a in assignments} == {"Microsoft Graph"}


def test_me_needs_a_delegated_token(devstack: OfflineTenant, http: requests.Session, graph: str) -> None:
    """/me answers a user token with User.Read, and refuses an app-only token with Graph's 400."""
    me = http.get(f"{graph}/me", headers={"Authorization": f"Bearer {user_token(devstack, ['User.Read'])}"})
    assert me.json()["userPrincipalName"].startswith("adele.vance@")
    app_only = http.get(f"{graph}/me", headers={"Authorization": f"Bearer {app_token(devstack)}"})
    assert error(app_only) == (
        400,
        "BadRequest",
        "/me request is only valid with delegated authentication flow.",
    )


def test_beta_is_an_alias(api: requests.Session, devstack: OfflineTenant) -> None:
    """/beta serves the same resources as /v1.0."""
    body = api.get(f"{devstack.servers['graph'].url}/beta/organization").json()
    assert body["value"][0]["id"] == devstack.tenant.tenant_id


# -- authentication and authorization ---------------------------------------------
def _bad_signature_token(devstack: OfflineTenant) -> str:
    forger = TokenIssuer(devstack.tenant.tenant_id, devstack.tenant.issuer.issuer)
    forger.kid = devstack.tenant.issuer.kid  # same key id, another key: only the signature differs
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    return forger.issue(app.principal(), GRAPH, roles=["User.Read.All"])[0]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "Access token is empty."),
        ("expired", "Lifetime validation failed, the token is expired."),
        ("audience", "Access token validation failure. Invalid audience."),
        ("signature", "Access token validation failure. Invalid signature."),
    ],
)
def test_token_rejections(
    devstack: OfflineTenant, http: requests.Session, graph: str, case: str, message: str
) -> None:
    """Each bad token gets 401 InvalidAuthenticationToken with Graph's text and a Bearer challenge."""
    tokens = {
        "missing": "",
        "expired": app_token(devstack, now=time.time() - 7200),
        "audience": app_token(devstack, audience="https://vault.azure.net"),
        "signature": _bad_signature_token(devstack),
    }
    headers = {"Authorization": f"Bearer {tokens[case]}"} if tokens[case] else {}
    response = http.get(f"{graph}/users", headers=headers)
    assert error(response) == (401, "InvalidAuthenticationToken", message)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_missing_role_is_forbidden(devstack: OfflineTenant, http: requests.Session, graph: str) -> None:
    """A token without User.Read.All (or a broader role) gets 403 on /users but reads /organization."""
    token = app_token(devstack, roles=["Organization.Read.All"])
    headers = {"Authorization": f"Bearer {token}"}
    assert error(http.get(f"{graph}/users", headers=headers)) == (
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
    assert http.get(f"{graph}/organization", headers=headers).status_code == 200


def test_delegated_scopes_are_checked(devstack: OfflineTenant, http: requests.Session, graph: str) -> None:
    """A user token with only User.Read may not list users; with User.ReadBasic.All it may."""
    narrow = {"Authorization": f"Bearer {user_token(devstack, ['User.Read'])}"}
    wide = {"Authorization": f"Bearer {user_token(devstack, ['User.Read', 'User.ReadBasic.All'])}"}
    assert http.get(f"{graph}/users", headers=narrow).status_code == 403
    assert http.get(f"{graph}/users", headers=wide).status_code == 200


def test_permission_table_covers_every_route() -> None:
    """Every routed operation has an entry in REQUIRED, and /users names Graph's documented roles."""
    assert {operation for _, operation, _, _ in URLS} <= set(REQUIRED)
    assert {"User.Read.All", "Directory.Read.All"} <= REQUIRED["ListUsers"].application
    assert "User.ReadBasic.All" in REQUIRED["ListUsers"].delegated


def test_token_from_msal_with_the_app_secret(devstack: OfflineTenant, graph: str) -> None:
    """A token msal gets from the Entra emulator with the app's client secret reads /users."""
    state = devstack.state()
    secret = devstack.tenant.vault.latest_secret(state["app"]["secretName"])
    assert secret is not None
    with tls_session(state["caBundle"]) as session:
        client = msal.ConfidentialClientApplication(
            state["app"]["clientId"],
            client_credential=secret.value,
            authority=f"{state['authorityHost']}/{state['tenantId']}",
            instance_discovery=False,
            http_client=session,
        )
        result = client.acquire_token_for_client(scopes=[f"{GRAPH}/.default"])
        assert "access_token" in result, result
        users = session.get(
            f"{graph}/users",
            params={"$top": "1"},
            headers={"Authorization": f"Bearer {result['access_token']}"},
        )
    assert users.status_code == 200
    assert len(users.json()["value"]) == 1


# -- throttling and $batch ------------------------------------------------------------
def test_injected_throttle_speaks_graph(devstack: OfflineTenant, api: requests.Session, graph: str) -> None:
    """An injected 429 carries Graph's TooManyRequests body and the Retry-After asked for."""
    base = devstack.servers["graph"].url
    api.post(f"{base}/_devstack/faults", json={"match": "^/v1.0/groups$", "status": 429, "retryAfter": 2})
    throttled = api.get(f"{graph}/groups")
    assert error(throttled) == (429, "TooManyRequests", "Please retry again later.")
    assert throttled.headers["Retry-After"] == "2"
    assert api.get(f"{graph}/groups").status_code == 200


def test_batch_over_twenty_is_refused(api: requests.Session, graph: str) -> None:
    """A $batch of 21 requests is refused as a whole with 400."""
    requests_ = [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(21)]
    status, code, _ = error(api.post(f"{graph}/$batch", json={"requests": requests_}))
    assert (status, code) == (400, "BadRequest")


def test_batch_throttles_items_on_their_own(
    devstack: OfflineTenant, api: requests.Session, graph: str
) -> None:
    """A fault matching one item's path throttles only that item (429 + Retry-After); the rest succeed."""
    base = devstack.servers["graph"].url
    api.post(f"{base}/_devstack/faults", json={"match": "^/v1.0/groups", "status": 429, "retryAfter": 3})
    batch = {
        "requests": [
            {"id": "1", "method": "GET", "url": "/organization"},
            {"id": "2", "method": "GET", "url": "/groups?$select=id"},
            {"id": "3", "method": "GET", "url": "/users?$top=2"},
            {"id": "4", "method": "GET", "url": "/users/nobody", "dependsOn": ["3"]},
        ]
    }
    response = api.post(f"{graph}/$batch", json=batch)
    assert response.status_code == 200
    items = {r["id"]: r for r in response.json()["responses"]}
    assert items["1"]["status"] == 200
    assert items["2"]["status"] == 429
    assert items["2"]["headers"]["Retry-After"] == "3"
    assert items["2"]["body"]["error"]["code"] == "TooManyRequests"
    assert len(items["3"]["body"]["value"]) == 2
    assert items["4"]["status"] == 404
    counts = api.get(f"{base}/_devstack/requests").json()["byOperation"]
    assert counts["Batch"] >= 1
    assert counts["ListGroups"] >= 1


def test_batch_items_are_authorized_on_their_own(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """Inside a batch, an item the token may not read gets 403 while the others succeed."""
    headers = {"Authorization": f"Bearer {app_token(devstack, roles=['Organization.Read.All'])}"}
    batch = {
        "requests": [
            {"id": "org", "method": "GET", "url": "/organization"},
            {"id": "users", "method": "GET", "url": "/users"},
        ]
    }
    items = {
        r["id"]: r["status"]
        for r in http.post(f"{graph}/$batch", json=batch, headers=headers).json()["responses"]
    }
    assert items == {"org": 200, "users": 403}


# -- subscriptions ----------------------------------------------------------------------
def test_subscription_validation_handshake(api: requests.Session, graph: str, subscriber: Subscriber) -> None:
    """Creating a subscription validates the endpoint's echo, then GET, PATCH and DELETE work."""
    created = api.post(f"{graph}/subscriptions", json=subscription(subscriber.url))
    assert created.status_code == 201, created.text
    sub = created.json()
    assert (sub["resource"], sub["clientState"]) == ("users", "s3cret-state")
    assert api.get(f"{graph}/subscriptions/{sub['id']}").json()["id"] == sub["id"]
    assert sub["id"] in {s["id"] for s in api.get(f"{graph}/subscriptions").json()["value"]}
    renewed = api.patch(f"{graph}/subscriptions/{sub['id']}", json={"expirationDateTime": in_minutes(120)})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
    assert api.delete(f"{graph}/subscriptions/{sub['id']}").status_code == 204
    assert api.get(f"{graph}/subscriptions/{sub['id']}").status_code == 404


def test_reauthorize_answers_204_and_clears_the_challenge(
    devstack: OfflineTenant, api: requests.Session, graph: str, graph_base: str, subscriber: Subscriber
) -> None:
    """After a reauthorizationRequired, POST /subscriptions/{id}/reauthorize is 204 with no body and
    clears it; an unknown id is 404, a token without the resource's read permission 403."""
    sub = api.post(f"{graph}/subscriptions", json=subscription(subscriber.url)).json()
    notify = {"lifecycleEvent": "reauthorizationRequired"}
    assert (
        api.post(f"{graph_base}/_devstack/subscriptions/{sub['id']}/notify", json=notify).json()["status"]
        == 202
    )
    assert subscriber.received[-1]["value"][0]["lifecycleEvent"] == "reauthorizationRequired"

    def bookkeeping() -> dict[str, Any]:
        listed = api.get(f"{graph_base}/_devstack/subscriptions").json()["value"]
        found: dict[str, Any] = next(s for s in listed if s["id"] == sub["id"])["_devstack"]
        return found

    assert bookkeeping()["reauthorizationRequired"] is True
    answer = api.post(f"{graph}/subscriptions/{sub['id']}/reauthorize")
    assert (answer.status_code, answer.content) == (204, b"")
    assert bookkeeping()["reauthorizationRequired"] is False
    assert bookkeeping()["reauthorizedDateTime"]
    missing = api.post(f"{graph}/subscriptions/00000000-0000-0000-0000-000000000000/reauthorize")
    assert error(missing)[:2] == (404, "Request_ResourceNotFound")
    api.headers.update(bearer(app_token(devstack, roles=["Group.Read.All"])))
    assert error(api.post(f"{graph}/subscriptions/{sub['id']}/reauthorize")) == DENIED


def test_subscription_endpoint_that_does_not_echo(
    api: requests.Session, graph: str, subscriber: Subscriber
) -> None:
    """An endpoint that answers the validation with anything but the token fails with InvalidRequest."""
    subscriber.mode = "wrong"
    assert error(api.post(f"{graph}/subscriptions", json=subscription(subscriber.url))) == (
        400,
        "InvalidRequest",
        "Subscription validation request failed. "
        "Notification endpoint must respond with 200 OK to validation request.",
    )


def test_subscription_validation_timeout(
    devstack: OfflineTenant, api: requests.Session, graph: str, subscriber: Subscriber
) -> None:
    """An endpoint slower than the validation timeout fails with ValidationError (timeout shortened here)."""
    emulator = devstack.emulators["graph"]
    assert isinstance(emulator, GraphEmulator)
    subscriber.mode = "slow"
    emulator.subscriptions.validation_timeout_s = 0.5
    try:
        response = api.post(f"{graph}/subscriptions", json=subscription(subscriber.url))
    finally:
        emulator.subscriptions.validation_timeout_s = 10.0
    assert error(response) == (400, "ValidationError", "Subscription validation request timed out.")


def test_subscription_lifetime_limit(api: requests.Session, graph: str, subscriber: Subscriber) -> None:
    """An expiration further than 41,760 minutes for users gets 400 ExtensionError."""
    too_long = subscription(subscriber.url, expirationDateTime=in_minutes(41760 + 60))
    assert error(api.post(f"{graph}/subscriptions", json=too_long)) == (
        400,
        "ExtensionError",
        "Subscription expiration can only be 41760 minutes in the future.",
    )


def test_subscription_rules(api: requests.Session, graph: str, subscriber: Subscriber) -> None:
    """Missing fields, a long clientState and a non-loopback http URL are refused with 400."""
    missing = subscription(subscriber.url)
    del missing["changeType"]
    assert api.post(f"{graph}/subscriptions", json=missing).status_code == 400
    long_state = subscription(subscriber.url, clientState="x" * 129)
    assert api.post(f"{graph}/subscriptions", json=long_state).status_code == 400
    remote_http = subscription("http://example.com/hook")
    assert api.post(f"{graph}/subscriptions", json=remote_http).status_code == 400
    assert subscriber.received == []


def test_subscription_needs_the_resource_permission(
    devstack: OfflineTenant, http: requests.Session, graph: str, subscriber: Subscriber
) -> None:
    """Subscribing to users without a role that reads users gets 403."""
    headers = {"Authorization": f"Bearer {app_token(devstack, roles=['Organization.Read.All'])}"}
    response = http.post(f"{graph}/subscriptions", json=subscription(subscriber.url), headers=headers)
    assert response.status_code == 403


def test_notify_control_endpoint_delivers(
    devstack: OfflineTenant, api: requests.Session, graph: str, subscriber: Subscriber
) -> None:
    """The devstack notify endpoint makes Graph post a change, then a lifecycle notification."""
    sub = api.post(f"{graph}/subscriptions", json=subscription(subscriber.url)).json()
    base = devstack.servers["graph"].url
    user_id = devstack.tenant.users[0].object_id
    report = api.post(
        f"{base}/_devstack/subscriptions/{sub['id']}/notify",
        json={"changeType": "updated", "resourceId": user_id},
    ).json()
    assert report["status"] == 202
    (notification,) = subscriber.received[0]["value"]
    assert notification["subscriptionId"] == sub["id"]
    assert notification["clientState"] == "s3cret-state"
    assert notification["changeType"] == "updated"
    assert notification["tenantId"] == devstack.tenant.tenant_id
    assert notification["resourceData"] == {
        "@odata.type": "#Microsoft.Graph.User",
        "@odata.id": f"Users/{user_id}",
        "id": user_id,
        "organizationId": devstack.tenant.tenant_id,
    }
    lifecycle = api.post(
        f"{base}/_devstack/subscriptions/{sub['id']}/notify", json={"lifecycleEvent": "subscriptionRemoved"}
    ).json()
    assert lifecycle["status"] == 202
    assert subscriber.received[1]["value"][0]["lifecycleEvent"] == "subscriptionRemoved"
    assert api.get(f"{graph}/subscriptions/{sub['id']}").status_code == 404


def test_key_vault_token_is_not_a_graph_token(
    devstack: OfflineTenant, http: requests.Session, graph: str
) -> None:
    """A token for Key Vault's app id is refused by Graph as the wrong audience."""
    token = app_token(devstack, audience=KEY_VAULT_APP_ID)
    response = http.get(f"{graph}/organization", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


# -- the query model without HTTP ---------------------------------------------------------
def test_query_model_pages_filters_and_projects() -> None:
    """`query.apply` filters, pages from the skiptoken offset and projects, with no HTTP involved."""
    from devstack.graph import query, representations

    items = [{"id": str(i), "displayName": f"User {i:03d}", "userPrincipalName": f"u{i}@x"} for i in range(7)]
    first = query.apply(query.ODataQuery.parse({"$top": "3", "$select": "id"}), items, representations.USERS)
    assert [i["id"] for i in first.items] == ["0", "1", "2"]
    assert first.next_offset == 3
    params = query.ODataQuery.parse({"$top": "3", "$select": "id"}).next_params(3)
    last = query.apply(
        query.ODataQuery.parse({**params, "$skiptoken": params["$skiptoken"]}), items, representations.USERS
    )
    assert [i["id"] for i in last.items] == ["3", "4", "5"]
    filtered = query.apply(
        query.ODataQuery.parse({"$filter": "startswith(displayName,'user 00') and id eq '4'"}),
        items,
        representations.USERS,
    )
    assert [i["id"] for i in filtered.items] == ["4"]


def test_nested_batch_is_refused(api: requests.Session, graph: str) -> None:
    """A $batch item may not itself be a $batch request."""
    nested = {"requests": [{"id": "1", "method": "POST", "url": "/$batch", "body": {"requests": []}}]}
    status, code, _ = error(api.post(f"{graph}/$batch", json=nested))
    assert (status, code) == (400, "BadRequest")
