"""Entra ID's token service on the shared tenant: tenants, discovery, grants and issuance. No HTTP.

The HTTP layer passes the form as a mapping and the base URLs the request may have been sent to
(they are the accepted client assertion audiences).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.entra import exceptions as e
from devstack.entra.assertions import CLOCK_SKEW_S, entra_time, verify_client_assertion
from devstack.entra.device_code import DEVICE_CODE_GRANT, DeviceFlows
from devstack.tenant.models import GRAPH_APP_ID, AppRegistration, ResourceApp, Tenant
from devstack.tenant.pki import b64url, utcnow
from devstack.tenant.tokens import (
    CLIENT_AUTH_CERTIFICATE,
    CLIENT_AUTH_PUBLIC,
    CLIENT_AUTH_SECRET,
    DEFAULT_LIFETIME_S,
    TokenRejected,
)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
MULTI_TENANT = ("common", "organizations")
# The client id a devstack user token says it was requested by (Azure CLI's public client).
DEVSTACK_USER_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


@dataclass(frozen=True)
class TokenRequest:
    tenant: str  # the tenant path segment as sent
    form: Mapping[str, str]
    base_urls: tuple[str, ...]  # where the request was addressed (authority host, request host)
    v1: bool = False


class EntraBackend:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.device_flows = DeviceFlows(self)

    # -- tenants and discovery ---------------------------------------------------
    def resolve_tenant(self, segment: str) -> str:
        """The tenant id for a path segment: the id, the domain, or (where Entra allows) common."""
        s = segment.lower()
        if s in (self.tenant.tenant_id.lower(), self.tenant.default_domain.lower()):
            return self.tenant.tenant_id
        if s in MULTI_TENANT:  # single-tenant devstack: common/organizations resolve to it
            return self.tenant.tenant_id
        raise e.TenantNotFound(segment)

    def openid_configuration(self, segment: str, v1: bool = False) -> dict[str, Any]:
        host = self.tenant.authority_host
        self.resolve_tenant(segment)
        multi = segment.lower() in MULTI_TENANT
        # Multi-tenant documents publish a template issuer and keep the segment in their URLs.
        tid = "{tenantid}" if multi else self.tenant.tenant_id
        base = f"{host}/{segment if multi else tid}"
        oauth = f"{base}/oauth2" if v1 else f"{base}/oauth2/v2.0"
        return {
            "token_endpoint": f"{oauth}/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/keys" if v1 else f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{host}/{tid}/" if v1 else f"{host}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{host}/oidc/userinfo",
            "authorization_endpoint": f"{oauth}/authorize",
            "device_authorization_endpoint": f"{oauth}/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{oauth}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "ver"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def jwks(self, segment: str) -> dict[str, Any]:
        self.resolve_tenant(segment)
        return self.tenant.issuer.jwks()

    # -- the token endpoint ---------------------------------------------------------
    def token(self, req: TokenRequest) -> dict[str, Any]:
        self.resolve_tenant(req.tenant)
        grant = _required(req.form, "grant_type")
        if grant == "client_credentials":
            app = self.authenticate_client(req)
            return self._client_credentials(app, req)
        if grant == JWT_BEARER and req.form.get("requested_token_use") == "on_behalf_of":
            app = self.authenticate_client(req)
            return self._on_behalf_of(app, req)
        if grant == DEVICE_CODE_GRANT:
            return self.device_flows.redeem(req)
        raise e.UnsupportedGrantType(grant)

    def authenticate_client(self, req: TokenRequest) -> AppRegistration:
        client_id = _required(req.form, "client_id")
        app = self.tenant.app(client_id)
        if app is None:
            raise e.ApplicationNotFound(client_id, self.tenant.tenant_id)
        assertion = req.form.get("client_assertion")
        secret = req.form.get("client_secret")
        if assertion:
            if req.form.get("client_assertion_type") != ASSERTION_TYPE:
                raise e.MissingParameter("client_assertion_type")
            verify_client_assertion(self.tenant, app, assertion, self.assertion_audiences(req.base_urls))
        elif secret:
            self._check_secret(app, secret)
        else:
            raise e.ClientCredentialMissing()
        return app

    def assertion_audiences(self, base_urls: tuple[str, ...]) -> set[str]:
        """The token endpoints (v1, v2) and the authority itself, by tenant id or domain."""
        out: set[str] = set()
        for base in {*base_urls, self.tenant.authority_host}:
            for t in (self.tenant.tenant_id, self.tenant.default_domain):
                root = f"{base.rstrip('/')}/{t}".lower()
                out |= {root, f"{root}/v2.0", f"{root}/oauth2/token", f"{root}/oauth2/v2.0/token"}
        return out

    def _check_secret(self, app: AppRegistration, secret: str) -> None:
        now = utcnow()
        ok = False
        for cred in app.password_credentials:
            # Compare with every credential (no early exit) so timing says nothing about which matched.
            match = hmac.compare_digest(cred.secret.encode(), secret.encode())
            ok |= match and cred.start <= now <= cred.end
        if not ok:
            raise e.InvalidClientSecret(app.app_id)

    def _client_credentials(self, app: AppRegistration, req: TokenRequest) -> dict[str, Any]:
        requested = _required(req.form, "resource" if req.v1 else "scope")
        api = self._v1_resource(req) if req.v1 else self._default_scope_resource(requested)
        roles = sorted(self.tenant.roles_for(app.sp_object_id, api.app_id))
        token, exp = self.tenant.issuer.issue(
            app.principal(),
            api.audience_for(requested),
            roles=roles,
            client_auth=_client_auth(req),
            version=api.token_version,
        )
        return _token_response(token, exp, resource=api.audience if req.v1 else None)

    def _v1_resource(self, req: TokenRequest) -> ResourceApp:
        resource = _required(req.form, "resource")
        api = self.tenant.resource(resource)
        if api is None:
            raise e.ResourceNotFound(resource, self.tenant.display_name)
        return api

    def _default_scope_resource(self, scope: str) -> ResourceApp:
        scopes = scope.split()
        defaults = [s for s in scopes if s.endswith("/.default")]
        if not defaults:
            raise e.DefaultScopeRequired(scope)
        if len(scopes) != 1 or defaults[0] == "/.default":
            raise e.InvalidScope(scope)
        resource = defaults[0].removesuffix("/.default")
        api = self.tenant.resource(resource)
        if api is None:
            raise e.ResourceNotFound(resource, self.tenant.display_name)
        return api

    # -- on-behalf-of ---------------------------------------------------------------
    def _on_behalf_of(self, app: AppRegistration, req: TokenRequest) -> dict[str, Any]:
        assertion = _required(req.form, "assertion")
        own = [app.app_id, f"api://{app.app_id}", *app.identifier_uris]
        try:
            claims = self.tenant.issuer.verify(assertion, own, leeway_s=CLOCK_SKEW_S)
        except TokenRejected as exc:
            seen = self.tenant.issuer.peek(assertion)
            if exc.kind == "expired":
                raise e.OboExpired(entra_time(time.time()), entra_time(float(seen.get("exp", 0)))) from exc
            if exc.kind == "audience":
                raise e.OboAudienceMismatch(str(seen.get("aud", "")), app.app_id) from exc
            raise e.OboSignatureInvalid(exc.reason) from exc
        user = self.tenant.user(str(claims.get("oid", "")))
        if user is None or claims.get("idtyp") != "user":
            raise e.UserNotFound(str(claims.get("upn") or claims.get("oid")), self.tenant.display_name)
        if not user.account_enabled:
            raise e.UserDisabled()
        api, names = self._delegated_scopes(app, _required(req.form, "scope"))
        token, exp = self.tenant.issuer.issue(
            user.principal(), api.audience, scopes=names, azp=app.app_id, client_auth=_client_auth(req)
        )
        out = _token_response(token, exp)
        out["scope"] = " ".join(f"{api.audience}/{n}" for n in names)
        if req.form.get("client_info") == "1":
            info = {"uid": user.object_id, "utid": self.tenant.tenant_id}
            out["client_info"] = b64url(json.dumps(info).encode())
        return out

    def _delegated_scopes(self, app: AppRegistration, scope: str) -> tuple[ResourceApp, list[str]]:
        """One resource's delegated scopes; `.default` means every scope consented for this client."""
        wanted = [s for s in scope.split() if s.lower() not in OIDC_SCOPES]
        if not wanted:
            raise e.InvalidScope(scope)
        parsed = [s.rpartition("/")[::2] if "/" in s else (GRAPH_APP_ID, s) for s in wanted]
        apis: list[ResourceApp] = []
        for resource, _ in parsed:
            found = self.tenant.resource(resource)
            if found is None:
                raise e.ResourceNotFound(resource, self.tenant.display_name)
            apis.append(found)
        if len({a.app_id for a in apis}) != 1:
            raise e.InvalidScope(scope)  # one resource per token request
        api = apis[0]
        granted = self.tenant.delegated_grants.get(app.app_id, {}).get(api.app_id, set())
        names = {n for _, n in parsed}
        if ".default" in names:
            names = set(granted)
        unknown = names - set(api.scopes)
        if unknown:
            raise e.InvalidScope(f"{api.audience}/{sorted(unknown)[0]}")
        if not names or not names <= granted:
            raise e.ConsentRequired(app.app_id, app.display_name)
        return api, sorted(names)

    # -- user sign-in (device code; devstack/entra/device_code.py) ------------------------
    def user_tokens(
        self, client: AppRegistration, user_oid: str, scope: str, *, client_info: str | None = None
    ) -> dict[str, Any]:
        """What a public client gets once the user signed in: access token, id token, client_info.

        The access token is for the one API the scopes name, in that API's token version, with
        the consented `scp` and the app roles assigned to the user (`roles`).
        """
        user = self.tenant.user(user_oid)
        if user is None:
            raise e.UserNotFound(user_oid, self.tenant.display_name)
        if not user.account_enabled:
            raise e.UserDisabled()
        api, names = self._delegated_scopes(client, scope)
        requested = next(s for s in scope.split() if s.lower() not in OIDC_SCOPES)
        resource = requested.rpartition("/")[0] if "/" in requested else api.audience
        roles = sorted(self.tenant.roles_for(user.object_id, api.app_id))
        token, exp = self.tenant.issuer.issue(
            user.principal(),
            api.audience_for(resource),
            scopes=names,
            roles=roles,
            azp=client.app_id,
            client_auth=CLIENT_AUTH_PUBLIC,
            version=api.token_version,
        )
        id_token, _ = self.tenant.issuer.issue(user.principal(), client.app_id, azp=client.app_id)
        out = _token_response(token, exp)
        out["scope"] = " ".join(f"{api.audience}/{n}" for n in names)
        out["id_token"] = id_token
        if client_info == "1":
            info = {"uid": user.object_id, "utid": self.tenant.tenant_id}
            out["client_info"] = b64url(json.dumps(info).encode())
        return out

    # -- devstack only: user tokens without ROPC ---------------------------------------
    def user_token(
        self, upn: str, audience: str, scopes: list[str], lifetime_s: int, client_id: str | None = None
    ) -> dict[str, Any]:
        """A delegated token for a user, as if a public client had signed them in interactively.

        A lifetime <= 0 gives a token that expired that many seconds ago (for negative tests).
        """
        user = self.tenant.user(upn)
        if user is None:
            raise LookupError(upn)
        now = time.time()
        if lifetime_s <= 0:
            now, lifetime_s = now + lifetime_s - DEFAULT_LIFETIME_S, DEFAULT_LIFETIME_S
        token, exp = self.tenant.issuer.issue(
            user.principal(),
            audience,
            scopes=scopes,
            azp=client_id or DEVSTACK_USER_CLIENT_ID,
            lifetime_s=lifetime_s,
            now=now,
            client_auth=CLIENT_AUTH_PUBLIC,  # as if signed in through a public client
        )
        return {"access_token": token, "token_type": "Bearer", "expires_on": exp}


def _client_auth(req: TokenRequest) -> str:
    """azpacr of a confidential client `authenticate_client` accepted: an assertion wins over a secret."""
    return CLIENT_AUTH_CERTIFICATE if req.form.get("client_assertion") else CLIENT_AUTH_SECRET


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise e.MissingParameter(name)
    return value


def _token_response(token: str, exp: int, resource: str | None = None) -> dict[str, Any]:
    expires_in = max(0, exp - int(time.time()))
    out: dict[str, Any] = {
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": token,
    }
    if resource is not None:  # v1 answers also name the resource and an absolute expiry
        out |= {"resource": resource, "expires_on": str(exp), "not_before": str(exp - DEFAULT_LIFETIME_S)}
    return out
