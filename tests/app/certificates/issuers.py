"""A Key Vault CA issuer in the emulator, set up as an administrator would (shared by the bootstrap and
rotation tests): the issuer object through the data plane as Adele (Key Vault Certificates Officer in
the seed), its CA's pace and answers through the emulator's control endpoint."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import requests
from azure.core.credentials import AccessToken
from azure.keyvault.certificates import CertificateClient, CertificatePolicy, KeyType
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from devstack.offline_tenant import OfflineTenant
from tests import caller_tokens as ct

PROVIDER = "DigiCert"  # a provider the emulator stands in for with its own issuing CA


class _Officer:
    """Adele's Key Vault token, for azure-keyvault-certificates."""

    def __init__(self, devstack: OfflineTenant) -> None:
        tenant = devstack.tenant
        user = tenant.user(ct.ADELE)
        assert user is not None
        self._token, self._exp = tenant.issuer.issue(
            user.principal(), "https://vault.azure.net", scopes=["user_impersonation"]
        )

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(self._exp or time.time() + 3600))


def officer_client(devstack: OfflineTenant) -> CertificateClient:
    return CertificateClient(
        devstack.servers["keyvault"].url,
        _Officer(devstack),
        verify_challenge_resource=False,
        connection_verify=devstack.state()["caBundle"],
    )


def new_issuer(devstack: OfflineTenant, http: requests.Session, **pace: Any) -> str:
    """A fresh CA issuer object in the vault (provider DigiCert), its CA set to `pace`
    (`delaySeconds`, `refuse`, `retryAfter`); its name."""
    name = "corp-ca-" + secrets.token_hex(3)
    officer_client(devstack).create_issuer(
        name, provider=PROVIDER, account_id="devstack-account", password="not-a-real-ca-key"
    )
    ca_pace(devstack, http, name, **{"retryAfter": 1, **pace})
    return name


def ca_pace(devstack: OfflineTenant, http: requests.Session, issuer: str, **pace: Any) -> None:
    """How the issuer's CA answers from now on (the emulator's control endpoint)."""
    url = f"{devstack.servers['keyvault'].url}/_devstack/issuers/{issuer}"
    answer = http.post(url, json=pace, timeout=10)
    assert answer.status_code in (200, 204), answer.text


def ca_issued(devstack: OfflineTenant, issuer: str, subject: str, *, exportable: bool, name: str) -> None:
    """Certificate `name` issued through `issuer` (waits for the CA), as an administrator would."""
    policy = CertificatePolicy(
        issuer_name=issuer,
        subject=subject,
        exportable=exportable,
        key_type=KeyType.rsa,
        key_size=2048,
        validity_in_months=1,
    )
    officer_client(devstack).begin_create_certificate(name, policy, _polling_interval=1).result()


def chain_of(devstack: OfflineTenant, name: str) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The newest version of certificate `name`: its leaf and the chain Key Vault keeps with it."""
    version = devstack.tenant.vault.latest_certificate(name)
    assert version is not None
    secret = devstack.tenant.vault.secret_version(name, version.version)
    assert secret is not None
    # A non-exportable certificate's secret holds no key, and then no "leaf": take every certificate.
    _, first, rest = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    leaf = version.certificate
    return leaf, [c for c in [first, *rest] if c is not None and c != leaf]
