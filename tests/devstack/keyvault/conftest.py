"""The deployer's view of the vault: Adele Vance holds Key Vault Certificates Officer in the seed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.keyvault.certificates import CertificateClient, CertificatePolicy, KeyVaultCertificate

from devstack.offline_tenant import OfflineTenant

API = {"api-version": "7.6"}


class Deployer:
    """Adele Vance's Key Vault token, as a credential for the SDK clients."""

    def __init__(self, devstack: OfflineTenant) -> None:
        tenant = devstack.tenant
        user = tenant.user(f"adele.vance@{tenant.default_domain}")
        assert user is not None
        self.token, self._exp = tenant.issuer.issue(
            user.principal(), "https://vault.azure.net", scopes=["user_impersonation"]
        )

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(self._exp or time.time() + 3600))


@pytest.fixture
def deployer(devstack: OfflineTenant) -> Deployer:
    return Deployer(devstack)


@pytest.fixture
def client(devstack: OfflineTenant, deployer: Deployer) -> CertificateClient:
    return CertificateClient(
        devstack.servers["keyvault"].url,
        deployer,
        verify_challenge_resource=False,
        connection_verify=devstack.state()["caBundle"],
    )


@pytest.fixture
def kv(devstack: OfflineTenant) -> str:
    return devstack.servers["keyvault"].url.rstrip("/")


@pytest.fixture
def officer_http(http: requests.Session, deployer: Deployer) -> Iterator[requests.Session]:
    """A TLS session that sends the deployer's bearer token (raw requests, to see headers)."""
    http.headers["Authorization"] = f"Bearer {deployer.token}"
    yield http
    http.headers.pop("Authorization", None)


def create(client: CertificateClient, name: str, policy: CertificatePolicy) -> KeyVaultCertificate:
    """begin_create_certificate to the end, where it must give a certificate (not an operation)."""
    made = client.begin_create_certificate(name, policy, _polling_interval=0).result()
    assert isinstance(made, KeyVaultCertificate), made
    return made
