"""Starts and stops the four emulators as one offline tenant (what `devstack up` uses).

Ports are bound first (ephemeral), then the tenant is built, because token issuers and
federated credentials name the authority's URL. `start(state_dir, scale=N)` adds the scale
seed (`devstack.tenant.scale`: N users, groups and apps with credentials); `.scale` holds
what it generated.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack import entra, graph, identity, keyvault, sink
from devstack.core.emulator import Emulator
from devstack.core.server import RunningServer, serve, server_ssl_context
from devstack.tenant.models import Tenant
from devstack.tenant.pki import CertificateAuthority
from devstack.tenant.scale import DEFAULT_SEED, ScaleFacts, add_scale
from devstack.tenant.seed import build_tenant, load_seed


class _Slot:
    """A WSGI app filled in after the server is bound (its URL is needed to build the tenant)."""

    def __init__(self) -> None:
        self.app: Emulator | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            return Response("starting", status=503)(environ, start_response)
        return self.app(environ, start_response)

    def http_error(self, status: int, detail: str) -> Response:
        """A malformed request's answer, in the emulator's own error shape."""
        if self.app is None:
            return Response(detail, status=status)
        return self.app.http_error(status, detail)


class OfflineTenant:
    """The running emulators: identity endpoint, Entra ID, Key Vault and Graph."""

    def __init__(
        self,
        state_dir: Path,
        tenant: Tenant,
        servers: dict[str, RunningServer],
        emulators: dict[str, Emulator],
        identity_header: str,
    ) -> None:
        self.state_dir = state_dir
        self.tenant = tenant
        self.servers = servers
        self.emulators = emulators
        self.identity_header = identity_header
        self.seed = load_seed()

    @property
    def scale(self) -> ScaleFacts | None:
        """What the scale seed generated (None without `scale=`)."""
        facts = self.tenant.extra.get("scale")
        return facts if isinstance(facts, ScaleFacts) else None

    @classmethod
    def start(cls, state_dir: Path, *, scale: int = 0, scale_seed: int = DEFAULT_SEED) -> OfflineTenant:
        """Start every emulator on an ephemeral loopback port; write `state_dir / "ca.pem"`.

        `scale=N` adds N generated users, groups and app registrations (deterministic from
        `scale_seed`) before the emulators serve.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        ca = CertificateAuthority()
        (state_dir / "ca.pem").write_bytes(ca.pem())
        tls = server_ssl_context(ca)
        slots = {name: _Slot() for name in ("identity", "entra", "keyvault", "graph", "sink")}
        servers: dict[str, RunningServer] = {}
        try:
            for name, slot in slots.items():
                servers[name] = serve(slot, ssl_context=None if name == "identity" else tls, name=name)
            tenant = build_tenant(servers["entra"].url, ca=ca)
            tenant.extra["urls"] = {name: s.url for name, s in servers.items()}
            if scale:
                add_scale(tenant, scale, seed=scale_seed)
            header = secrets.token_urlsafe(24)
            emulators: dict[str, Emulator] = {
                "identity": identity.create_app(tenant, header),
                "entra": entra.create_app(tenant),
                "keyvault": keyvault.create_app(tenant),
                "graph": graph.create_app(tenant),
                # Teams/Slack incoming webhooks, recording what jobs post (devstack/sink).
                "sink": sink.create_app(),
            }
            for name, emulator in emulators.items():
                slots[name].app = emulator
        except BaseException:
            for s in servers.values():
                s.stop()
            raise
        return cls(state_dir, tenant, servers, emulators, header)

    @property
    def identity_endpoint(self) -> str:
        return f"{self.servers['identity'].url}/msi/token"

    def user_assigned(self) -> Any:
        return next(i for i in self.tenant.identities if i.kind == "user" and i.assigned)

    def state(self) -> dict[str, Any]:
        """State-file keys owned here: all but baseUrl, functionKey and storageConnectionString."""
        app = self.tenant.app_by_name("entra-automation")
        assert app is not None
        return {
            "caBundle": str(self.state_dir / "ca.pem"),
            "tenantId": self.tenant.tenant_id,
            "identityEndpoint": self.identity_endpoint,
            "identityHeader": self.identity_header,
            "managedIdentityClientId": self.user_assigned().client_id,
            "authorityHost": self.servers["entra"].url,
            "keyVaultUrl": self.servers["keyvault"].url,
            "graphUrl": self.servers["graph"].url,
            "webhookSinkUrl": self.servers["sink"].url,
            "app": {
                "clientId": app.app_id,
                "certificateName": "entra-automation-cert",
                "secretName": "entra-automation-secret",
            },
            **({"scale": self.scale.summary()} if self.scale else {}),
        }

    def app_settings(self) -> dict[str, str]:
        """Environment the app gets so it talks to the emulators instead of Azure."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "AZURE_CLIENT_ID": self.user_assigned().client_id,
            "AZURE_TENANT_ID": self.tenant.tenant_id,
            "AZURE_AUTHORITY_HOST": self.servers["entra"].url,
            "KEY_VAULT_URL": self.servers["keyvault"].url,
            "GRAPH_URL": self.servers["graph"].url,
            # The app trusts the devstack CA through the standard variable requests reads.
            "REQUESTS_CA_BUNDLE": str((self.state_dir / "ca.pem").resolve()),
        }

    def stop(self) -> None:
        """Stop every emulator; idempotent."""
        for s in self.servers.values():
            s.stop()
        self.servers = {}
        for emulator in self.emulators.values():
            close = getattr(emulator, "close", None)
            if callable(close):
                close()


def handle_locally(emulator: Emulator, request: Request) -> Response:
    """Dispatch without a socket (for the model's own unit tests)."""
    return emulator.dispatch(request)
