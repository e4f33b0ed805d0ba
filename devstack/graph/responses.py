"""Graph's HTTP face: parse the request, ask the tenant model, serialize (moto's `responses.py`).

Every handler gets a `Call` (the request, the verified token's claims, the base URL) after the
emulator has checked the token and the operation's permissions (`permissions.REQUIRED`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from devstack.core.problems import loads
from devstack.graph import representations as rep
from devstack.graph.credentials import ApplicationCredentials
from devstack.graph.delta import DEFAULT_PAGE_SIZE, DeltaState, delta_page
from devstack.graph.exceptions import JSON, BadRequest, ResourceNotFound
from devstack.graph.models import GraphBackend
from devstack.graph.query import Entity, ODataQuery, apply, check_select, project
from devstack.graph.subscriptions import SubscriptionStore
from devstack.tenant.models import Tenant

Item = dict[str, Any]


@dataclass(frozen=True)
class Call:
    request: Request
    claims: dict[str, Any]
    version: str  # "v1.0" | "beta"

    @property
    def base(self) -> str:
        """The emulator's own origin: nextLink and @odata.context point back at it."""
        return self.request.host_url.rstrip("/")

    def query(self) -> ODataQuery:
        return ODataQuery.parse(self.request.args, self.request.headers.get("ConsistencyLevel"))

    def context(self, fragment: str) -> str:
        return f"{self.base}/{self.version}/$metadata#{fragment}"

    def json_body(self) -> Item:
        try:
            body = loads(self.request.get_data() or b"{}")  # bounded depth: never a RecursionError
        except ValueError:
            raise BadRequest("Unable to read JSON request payload.") from None
        if not isinstance(body, dict):
            raise BadRequest("Unable to read JSON request payload.")
        return body


def ok(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON)


def collection(call: Call, items: Sequence[Item], entity: Entity, context: str | None = None) -> Response:
    """A paged collection: @odata.context, value, and @odata.nextLink while more remain."""
    query = call.query()
    page = apply(query, items, entity)
    fragment = context or entity.collection
    if query.select:
        fragment += f"({','.join(query.select)})"
    body: Item = {"@odata.context": call.context(fragment)}
    if query.count:
        body["@odata.count"] = page.total
    if page.next_offset is not None:
        body["@odata.nextLink"] = (
            f"{call.base}{call.request.path}?{urlencode(query.next_params(page.next_offset), safe='$')}"
        )
    body["value"] = page.items
    return ok(body)


def entity_response(call: Call, item: Item, entity: Entity, context: str | None = None) -> Response:
    query = call.query()
    check_select(query, entity)
    fragment = context or entity.collection
    if query.select:
        fragment += f"({','.join(query.select)})"
    return ok({"@odata.context": call.context(f"{fragment}/$entity"), **project(item, query, entity)})


class GraphResponses:
    """One method per operation; `urls.URLS` names them."""

    def __init__(
        self,
        tenant: Tenant,
        subscriptions: SubscriptionStore,
        backend: GraphBackend,
        credentials: ApplicationCredentials,
    ) -> None:
        self.tenant = tenant
        self.subscriptions = subscriptions
        self.backend = backend
        self.credentials = credentials

    # -- organization ---------------------------------------------------------
    def get_organization(self, call: Call) -> Response:
        entity = Entity(
            "organization",
            "Organization",
            "Microsoft.DirectoryServices.TenantDetail",
            frozenset(rep.organization(self.tenant)),
            frozenset({"id"}),
        )
        return collection(call, [rep.organization(self.tenant)], entity)

    # -- applications ---------------------------------------------------------
    def list_applications(self, call: Call) -> Response:
        items = [rep.application(self.tenant, a) for a in self.tenant.apps]
        return collection(call, items, rep.APPLICATIONS)

    def _application(self, key: str, *, by_app_id: bool) -> Any:
        for a in self.tenant.apps:
            if (a.app_id if by_app_id else a.object_id).lower() == key.lower():
                return a
        raise ResourceNotFound(key)

    def get_application(self, call: Call, object_id: str) -> Response:
        return self._get_application(call, self._application(object_id, by_app_id=False))

    def get_application_by_app_id(self, call: Call, app_id: str) -> Response:
        return self._get_application(call, self._application(app_id, by_app_id=True))

    def _get_application(self, call: Call, app: Any) -> Response:
        include_key = "keyCredentials" in call.query().select
        item = rep.application(self.tenant, app, include_key=include_key)
        return entity_response(call, item, rep.APPLICATIONS)

    def list_federated_credentials(self, call: Call, object_id: str) -> Response:
        app = self._application(object_id, by_app_id=False)
        items = [rep.federated_credential(app, f) for f in app.federated_credentials]
        return collection(
            call,
            items,
            rep.FEDERATED_CREDENTIALS,
            context=f"applications('{app.object_id}')/federatedIdentityCredentials",
        )

    # -- service principals ---------------------------------------------------
    def _service_principal(self, key: str, *, by_app_id: bool) -> rep.ServicePrincipalRef:
        for sp in rep.service_principals(self.tenant):
            if (sp.app_id if by_app_id else sp.object_id).lower() == key.lower():
                return sp
        raise ResourceNotFound(key)

    def list_service_principals(self, call: Call) -> Response:
        items = [rep.service_principal(sp) for sp in rep.service_principals(self.tenant)]
        return collection(call, items, rep.SERVICE_PRINCIPALS)

    def get_service_principal(self, call: Call, object_id: str) -> Response:
        sp = self._service_principal(object_id, by_app_id=False)
        return entity_response(call, rep.service_principal(sp), rep.SERVICE_PRINCIPALS)

    def get_service_principal_by_app_id(self, call: Call, app_id: str) -> Response:
        sp = self._service_principal(app_id, by_app_id=True)
        return entity_response(call, rep.service_principal(sp), rep.SERVICE_PRINCIPALS)

    def list_app_role_assignments(self, call: Call, object_id: str) -> Response:
        sp = self._service_principal(object_id, by_app_id=False)
        return collection(
            call,
            rep.app_role_assignments(self.tenant, sp),
            rep.APP_ROLE_ASSIGNMENTS,
            context=f"servicePrincipals('{sp.object_id}')/appRoleAssignments",
        )

    # -- users and groups -----------------------------------------------------
    def list_users(self, call: Call) -> Response:
        return collection(call, [rep.user(u) for u in self.tenant.users], rep.USERS)

    def get_user(self, call: Call, key: str) -> Response:
        found = self.tenant.user(key)
        if found is None:
            raise ResourceNotFound(key)
        return entity_response(call, rep.user(found), rep.USERS)

    def get_me(self, call: Call) -> Response:
        found = self.tenant.user(str(call.claims.get("oid", "")))
        if found is None:
            raise ResourceNotFound(str(call.claims.get("oid", "")))
        return entity_response(call, rep.user(found), rep.USERS)

    def _group(self, key: str) -> Any:
        for g in self.tenant.groups:
            if g.object_id.lower() == key.lower():
                return g
        raise ResourceNotFound(key)

    def list_groups(self, call: Call) -> Response:
        return collection(call, [rep.group(g) for g in self.tenant.groups], rep.GROUPS)

    def get_group(self, call: Call, object_id: str) -> Response:
        return entity_response(call, rep.group(self._group(object_id)), rep.GROUPS)

    def list_group_members(self, call: Call, object_id: str) -> Response:
        group = self._group(object_id)
        members = [self.tenant.user(oid) for oid in group.members]
        items = [{"@odata.type": "#microsoft.graph.user", **rep.user(u)} for u in members if u]
        return collection(call, items, rep.MEMBERS)

    # -- user and group writes -----------------------------------------------
    def create_user(self, call: Call) -> Response:
        user = self.backend.create_user(call.json_body())
        return ok({"@odata.context": call.context("users/$entity"), **rep.user(user)}, 201)

    def update_user(self, call: Call, key: str) -> Response:
        self.backend.update_user(key, call.json_body())
        return Response(status=204)

    def delete_user(self, call: Call, key: str) -> Response:
        self.backend.delete_user(key)
        return Response(status=204)

    def revoke_sign_in_sessions(self, call: Call, key: str) -> Response:
        self.backend.revoke_sign_in_sessions(key)
        return ok({"@odata.context": call.context("Edm.Boolean"), "value": True})

    def create_group(self, call: Call) -> Response:
        group = self.backend.create_group(call.json_body())
        return ok({"@odata.context": call.context("groups/$entity"), **rep.group(group)}, 201)

    def update_group(self, call: Call, object_id: str) -> Response:
        self.backend.update_group(object_id, call.json_body())
        return Response(status=204)

    def delete_group(self, call: Call, object_id: str) -> Response:
        self.backend.delete_group(object_id)
        return Response(status=204)

    def add_group_member(self, call: Call, object_id: str) -> Response:
        self.backend.add_member(object_id, call.json_body())
        return Response(status=204)

    def remove_group_member(self, call: Call, object_id: str, member_id: str) -> Response:
        self.backend.remove_member(object_id, member_id)
        return Response(status=204)

    # -- delta ----------------------------------------------------------------
    def users_delta(self, call: Call) -> Response:
        return self._delta(call, "users", rep.USERS)

    def groups_delta(self, call: Call) -> Response:
        return self._delta(call, "groups", rep.GROUPS)

    def _delta(self, call: Call, resource: str, entity: Entity) -> Response:
        args = call.request.args
        if args.get("$deltatoken") == "latest":  # Graph's shortcut: no objects, just a token for now
            select = tuple(p.strip() for p in args.get("$select", "").split(",") if p.strip())
            latest = DeltaState(resource, self.backend.last_seq, self.backend.last_seq, 0, select)
            link = f"{call.base}/{call.version}/{resource}/delta?$deltatoken={latest.encode()}"
            return ok({"@odata.context": call.context(resource), "@odata.deltaLink": link, "value": []})
        if "$deltatoken" in args:  # a new round: everything after the token, up to now
            since = DeltaState.decode(args["$deltatoken"], resource)
            state = DeltaState(resource, since.upto, self.backend.last_seq, 0, since.select)
        elif "$skiptoken" in args:  # the next page of a round
            state = DeltaState.decode(args["$skiptoken"], resource)
        else:
            select = tuple(p.strip() for p in args.get("$select", "").split(",") if p.strip())
            query = ODataQuery(select=tuple(p for p in select if p != "members"))
            check_select(query, entity)
            state = DeltaState(resource, None, self.backend.last_seq, 0, select)
        query = ODataQuery(select=tuple(p for p in state.select if p != "members"))
        if resource == "users":
            users = {u.object_id: u for u in self.tenant.users}

            def render(kind: str, oid: str) -> dict[str, Any] | None:
                found = users.get(oid)
                return rep.user(found) if found else None
        else:
            groups = {g.object_id: g for g in self.tenant.groups}

            def render(kind: str, oid: str) -> dict[str, Any] | None:
                found = groups.get(oid)
                return rep.group(found) if found else None

        page = delta_page(
            self.backend, state, _max_page_size(call.request), render, lambda i: project(i, query, entity)
        )
        fragment = resource + (f"({','.join(state.select)})" if state.select else "")
        body: Item = {"@odata.context": call.context(fragment)}
        link = f"{call.base}/{call.version}/{resource}/delta"
        if page.next_token:
            body["@odata.nextLink"] = f"{link}?$skiptoken={page.next_token}"  # tokens are URL-safe
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={page.delta_token}"
        body["value"] = page.items
        return ok(body)

    # -- application credentials ---------------------------------------------
    def create_application(self, call: Call) -> Response:
        app = self.credentials.create_application(call.json_body(), call.claims)
        item = rep.application(self.tenant, app, include_key=False)
        return ok({"@odata.context": call.context("applications/$entity"), **item}, 201)

    def update_application(self, call: Call, object_id: str) -> Response:
        self.credentials.update(object_id, call.json_body(), call.claims)
        return Response(status=204)

    def add_key(self, call: Call, object_id: str) -> Response:
        key = self.credentials.add_key(object_id, call.json_body(), call.claims)
        body = rep.key_credential(key, include_key=False)
        return ok({"@odata.context": call.context("microsoft.graph.keyCredential"), **body})

    def remove_key(self, call: Call, object_id: str) -> Response:
        self.credentials.remove_key(object_id, call.json_body(), call.claims)
        return Response(status=204)

    def add_password(self, call: Call, object_id: str) -> Response:
        cred = self.credentials.add_password(object_id, call.json_body(), call.claims)
        body = rep.password_credential(cred, secret_text=True)
        return ok({"@odata.context": call.context("microsoft.graph.passwordCredential"), **body})

    def remove_password(self, call: Call, object_id: str) -> Response:
        self.credentials.remove_password(object_id, call.json_body(), call.claims)
        return Response(status=204)

    # -- subscriptions --------------------------------------------------------
    def create_subscription(self, call: Call) -> Response:
        sub = self.subscriptions.create(call.json_body(), call.claims)
        return ok({"@odata.context": call.context("subscriptions/$entity"), **sub.to_json()}, 201)

    def list_subscriptions(self, call: Call) -> Response:
        items = [s.to_json() for s in self.subscriptions.list(call.claims)]
        return ok({"@odata.context": call.context("subscriptions"), "value": items})

    def get_subscription(self, call: Call, sub_id: str) -> Response:
        sub = self.subscriptions.get(sub_id, call.claims)
        return ok({"@odata.context": call.context("subscriptions/$entity"), **sub.to_json()})

    def update_subscription(self, call: Call, sub_id: str) -> Response:
        sub = self.subscriptions.renew(sub_id, call.json_body(), call.claims)
        return ok({"@odata.context": call.context("subscriptions/$entity"), **sub.to_json()})

    def reauthorize_subscription(self, call: Call, sub_id: str) -> Response:
        self.subscriptions.reauthorize(sub_id, call.claims)
        return Response(status=204)

    def delete_subscription(self, call: Call, sub_id: str) -> Response:
        self.subscriptions.delete(sub_id, call.claims)
        return Response(status=204)


def _max_page_size(request: Request) -> int:
    """`Prefer: odata.maxpagesize=N` (what delta pages by), else 100."""
    for part in request.headers.get("Prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return max(1, min(999, int(value.strip())))
    return DEFAULT_PAGE_SIZE


CallHandler = Callable[..., Response]
