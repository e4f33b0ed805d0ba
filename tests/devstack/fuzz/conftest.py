"""A tenant of its own for the fuzz tests (they write secrets, certificates and subscriptions)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from werkzeug.test import Client

from devstack.core.server import serve
from devstack.graph.permissions import REQUIRED
from devstack.offline_tenant import OfflineTenant
from tests.devstack.fuzz.support import b64url

VAULT = "https://vault.azure.net"
GRAPH = "https://graph.microsoft.com"


class FuzzTenant:
    """The stack and what a well-behaved caller would hold (to get past authentication)."""

    def __init__(
        self,
        *,
        stack: OfflineTenant,
        vault_token: str,
        graph_token: str,
        app_id: str,
        app_secret: str,
        signing_key: rsa.RSAPrivateKey,
        x5t: str,
        pfx: str,
    ) -> None:
        self.pfx = pfx
        self.stack, self.vault_token, self.graph_token = stack, vault_token, graph_token
        self.app_id, self.app_secret, self.signing_key, self.x5t = app_id, app_secret, signing_key, x5t

    def __repr__(self) -> str:  # hypothesis prints strategy arguments: never the tokens
        return "FuzzTenant()"

    def client(self, name: str) -> Client:
        return Client(self.stack.emulators[name])

    def secrets(self) -> list[str]:
        return [self.vault_token, self.graph_token, self.app_secret, self.stack.identity_header]


@pytest.fixture(scope="session")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTenant]:
    stack = OfflineTenant.start(tmp_path_factory.mktemp("fuzz"))
    try:
        tenant = stack.tenant
        app = tenant.app_by_name("entra-automation")
        assert app is not None
        admin = next(i for i in tenant.identities if i.name == "id-other-workload")
        tenant.vault_roles.setdefault(admin.object_id, set()).add("Key Vault Administrator")
        vault_token, _ = tenant.issuer.issue(admin.principal(), VAULT)
        roles = sorted({r for p in REQUIRED.values() for r in p.application})
        graph_token, _ = tenant.issuer.issue(app.principal(), GRAPH, roles=roles)
        key = tenant.vault.latest_key("entra-automation-cert")
        cert = tenant.vault.certificate_version("entra-automation-cert")
        assert key is not None
        assert cert is not None
        der = cert.certificate.public_bytes(serialization.Encoding.DER)
        yield FuzzTenant(
            stack=stack,
            vault_token=vault_token,
            graph_token=graph_token,
            app_id=app.app_id,
            app_secret=app.password_credentials[0].secret,
            signing_key=key.key,
            x5t=b64url(hashlib.sha1(der, usedforsecurity=False).digest()),
            pfx=base64.b64encode(
                pkcs12.serialize_key_and_certificates(
                    None, key.key, cert.certificate, None, serialization.NoEncryption()
                )
            ).decode(),
        )
    finally:
        stack.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Deep and binary bodies make long reprs; hypothesis warns about them, and warnings are errors."""
    for item in items:
        if "fuzz" in item.nodeid:
            item.add_marker(pytest.mark.filterwarnings("ignore:Generating overly large repr"))


@pytest.fixture(scope="session")
def fuzz_plain_urls(fuzz: FuzzTenant, host_url: str) -> Iterator[dict[str, str]]:
    """The fuzz tenant's emulators served again over plain http (raw bytes, half-closes), and the host."""
    servers = {name: serve(app, ssl_context=None, name=name) for name, app in fuzz.stack.emulators.items()}
    try:
        yield {**{name: s.url for name, s in servers.items()}, "host": host_url}
    finally:
        for s in servers.values():
            s.stop()
