"""Graph client test helpers: tokens from the devstack issuer, Graph request counts, a scripted server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.core.server import serve, server_ssl_context
from devstack.offline_tenant import OfflineTenant
from devstack.tenant.models import GRAPH_APP_ID
from devstack.tenant.pki import CertificateAuthority
from tests.app_env import by_operation
from tests.conftest import tls_session

GRAPH = "https://graph.microsoft.com"


def app_token(devstack: OfflineTenant, roles: list[str] | None = None) -> str:
    """A Graph token for the seeded app `entra-automation`, with its granted roles or `roles`."""
    tenant = devstack.tenant
    app = tenant.app_by_name("entra-automation")
    assert app is not None
    if roles is None:
        roles = sorted(tenant.roles_for(app.sp_object_id, GRAPH_APP_ID))
    token, _ = tenant.issuer.issue(app.principal(), GRAPH, roles=roles)
    return str(token)


def graph_counts(devstack: OfflineTenant) -> dict[str, int]:
    """Graph's requests by operation since the last reset (batch items counted as their operation)."""
    return by_operation(devstack, "graph")


def set_throttling(devstack: OfflineTenant, **spec: Any) -> None:
    """`PUT /_devstack/throttling` with the defaults overridden by `spec`; every bucket refilled."""
    body = {"enabled": True, "tenantSize": None, "resourceUnitsPer10s": None, "writesPer150s": 3000, **spec}
    with tls_session(devstack.state()["caBundle"]) as s:
        url = f"{devstack.servers['graph'].url}/_devstack/throttling"
        s.put(url, json=body, timeout=5).raise_for_status()


def user_ids(devstack: OfflineTenant, n: int) -> list[str]:
    """The object ids of the first `n` seeded users."""
    users: list[Any] = devstack.tenant.users
    return [str(u.object_id) for u in users[:n]]


@contextmanager
def scripted_graph(tmp_path: Path, pages: list[dict[str, Any]]) -> Iterator[tuple[str, str, list[str]]]:
    """A TLS server answering GET /v1.0/pages/<n> with `pages[n]`, for page shapes the emulator never makes.

    `{next}` in a page's links becomes the server's own URL. Yields (base URL, CA bundle, paths seen).
    """
    ca = CertificateAuthority("graph client test CA")
    bundle = tmp_path / "scripted-ca.pem"
    bundle.write_bytes(ca.pem())
    seen: list[str] = []
    holder: dict[str, str] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        seen.append(request.full_path.rstrip("?"))
        n = int(request.path.rsplit("/", 1)[-1])
        body = json.dumps(pages[n]).replace("{next}", holder["url"])
        return Response(body, content_type="application/json")(environ, start_response)

    server = serve(app, ssl_context=server_ssl_context(ca))
    holder["url"] = server.url
    try:
        yield server.url, str(bundle), seen
    finally:
        server.stop()
