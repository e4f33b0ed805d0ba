"""The credentials' pure parts: the identity endpoint's answer, Key Vault key ids, settings guards."""

from __future__ import annotations

import pytest

from shared.clouds import CLOUDS
from shared.config import ConnectionSettings, CredentialKind, ManagedIdentitySettings
from shared.errors import ConfigurationError, CredentialError, KeyVaultError
from shared.identity._vault import CertificateInfo
from shared.identity.certificate import CertificateCredential
from shared.identity.keyvault_key import _signing_key
from shared.identity.managed_identity import _parse, resource_of

TOKEN = "eyJhbGciOiJub25lIn0.eyJvaWQiOiJ4In0.sig"


def test_expires_on_as_a_string_of_seconds() -> None:
    """The endpoint's expires_on is epoch seconds sent as a string; claims are decoded."""
    token = _parse({"access_token": TOKEN, "expires_on": "1900000000"})
    assert (token.expires_on, token.claims["oid"]) == (1_900_000_000, "x")


def test_expires_in_when_expires_on_is_missing() -> None:
    """Without expires_on, expires_in seconds from now is used."""
    import time

    token = _parse({"access_token": TOKEN, "expires_in": "3600"})
    assert abs(token.expires_on - (time.time() + 3600)) < 5


@pytest.mark.parametrize(
    "body", [None, [], {}, {"access_token": 1}, {"access_token": TOKEN, "expires_on": "x"}]
)
def test_an_unreadable_answer_is_a_credential_error(body: object) -> None:
    """A 200 without a token or expiry is CredentialError at the identity endpoint, status 200."""
    with pytest.raises(CredentialError) as info:
        _parse(body)
    assert str(info.value) == (
        "The managed identity endpoint answered 200 without a readable token (access_token, expires_on)."
    )
    assert (info.value.step, info.value.status) == ("identity-endpoint", 200)


def test_the_endpoint_takes_a_resource_not_a_scope() -> None:
    """`/.default` is dropped for the identity endpoint."""
    assert resource_of("https://vault.azure.net/.default") == "https://vault.azure.net"


@pytest.mark.parametrize(
    "info",
    [
        CertificateInfo(name="k", version="v", cer=b"", key_id="https://v/keys/k/v"),
        CertificateInfo(name="k", version="v", cer=b"x", key_id="https://v/secrets/k/v"),
        CertificateInfo(name="k", version="v", cer=b"x", key_id="https://v/keys/k"),
    ],
)
def test_a_signing_key_needs_a_certificate_and_a_versioned_key_id(info: CertificateInfo) -> None:
    """No public certificate, or a key id that is not versioned, is a KeyVaultError saying how to fix it."""
    with pytest.raises(KeyVaultError) as raised:
        _signing_key(info)
    assert str(raised.value) == (
        "Key Vault certificate 'k' has no public certificate or versioned key id. Hint: Create the key as a "
        "Key Vault certificate (non-exportable); register its .cer on the app."
    )


def _settings(**changes: object) -> ConnectionSettings:
    fields: dict[str, object] = {
        "name": "c",
        "credential": CredentialKind.CERTIFICATE,
        "tenant_id": "t",
        "client_id": "c1",
        "managed_identity": ManagedIdentitySettings(),
        "certificate": "cert",
        "key_vault_url": "https://v.vault.azure.net",
        **changes,
    }
    return ConnectionSettings(**fields)  # type: ignore[arg-type]


def test_app_credentials_refuse_settings_the_schema_would_have_refused() -> None:
    """Built without tenant/client or without the vault object, a credential names what it needs."""
    cloud = CLOUDS["AzureCloud"]
    with pytest.raises(ConfigurationError, match=r"^Connection 'c' needs TENANT_ID and CLIENT_ID\.$"):
        CertificateCredential(_settings(tenant_id=None), cloud)
    with pytest.raises(ConfigurationError, match=r"^Connection 'c' needs CERTIFICATE and a vault URL\.$"):
        CertificateCredential(_settings(certificate=None), cloud)
