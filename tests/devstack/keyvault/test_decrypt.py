"""Key Vault's decrypt and unwrapKey through the real CryptographyClient: the key stays in the vault."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from devstack.keyvault.exceptions import BadParameter
from devstack.keyvault.models import KeyVaultBackend
from devstack.offline_tenant import OfflineTenant

SIGNING = "entra-automation-signing"  # non-exportable certificate (seed.json)
API = "api-version=7.6"


def _opts(ca: str) -> dict[str, Any]:
    return {"verify_challenge_resource": False, "connection_verify": ca}


@pytest.fixture
def credential(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> ManagedIdentityCredential:
    """id-entra-automation (Crypto User) through the identity endpoint, as the function app sees it."""
    state = devstack.state()
    monkeypatch.setenv("IDENTITY_ENDPOINT", state["identityEndpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", state["identityHeader"])
    return ManagedIdentityCredential(client_id=state["managedIdentityClientId"])


def _certificate(
    devstack: OfflineTenant, ca: str, cred: ManagedIdentityCredential
) -> tuple[str, rsa.RSAPublicKey]:
    cert = CertificateClient(devstack.servers["keyvault"].url, cred, **_opts(ca)).get_certificate(SIGNING)
    assert cert.key_id is not None
    assert cert.cer is not None
    public = x509.load_der_x509_certificate(bytes(cert.cer)).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return cert.key_id, public


@pytest.mark.parametrize(
    ("algorithm", "pad"),
    [
        (EncryptionAlgorithm.rsa_oaep, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)),
        (
            EncryptionAlgorithm.rsa_oaep_256,
            padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
        ),
        (EncryptionAlgorithm.rsa1_5, padding.PKCS1v15()),
    ],
)
def test_decrypt_returns_what_the_certificate_key_encrypted(
    devstack: OfflineTenant,
    ca_bundle: str,
    credential: ManagedIdentityCredential,
    algorithm: EncryptionAlgorithm,
    pad: padding.AsymmetricPadding,
) -> None:
    """Content encrypted with the certificate's public key comes back from the vault's decrypt operation."""
    key_id, public = _certificate(devstack, ca_bundle, credential)
    secret = os.urandom(32)
    crypto = CryptographyClient(key_id, credential, **_opts(ca_bundle))
    result = crypto.decrypt(algorithm, public.encrypt(secret, pad))
    assert result.plaintext == secret
    assert result.key_id == key_id


def test_unwrap_key_returns_the_wrapped_key(
    devstack: OfflineTenant, ca_bundle: str, credential: ManagedIdentityCredential
) -> None:
    """unwrapKey with RSA-OAEP returns the symmetric key wrapped with the certificate's public key."""
    key_id, public = _certificate(devstack, ca_bundle, credential)
    secret = os.urandom(32)
    wrapped = public.encrypt(secret, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
    crypto = CryptographyClient(key_id, credential, **_opts(ca_bundle))
    assert crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped).key == secret


def test_decrypt_refuses_bad_ciphertext_and_unknown_algorithms(
    devstack: OfflineTenant, ca_bundle: str, credential: ManagedIdentityCredential
) -> None:
    """Garbage ciphertext and an algorithm Key Vault does not know are 400 BadParameter, not a crash."""
    key_id, _ = _certificate(devstack, ca_bundle, credential)
    crypto = CryptographyClient(key_id, credential, **_opts(ca_bundle))
    with pytest.raises(HttpResponseError) as garbage:
        crypto.decrypt(EncryptionAlgorithm.rsa_oaep, b"\x01" * 256)
    assert garbage.value.status_code == 400
    assert garbage.value.error is not None
    assert garbage.value.error.code == "BadParameter"
    with pytest.raises(BadParameter, match="Invalid algorithm: A256GCM"):
        KeyVaultBackend(devstack.tenant).decrypt(SIGNING, None, "A256GCM", b"\x01" * 256)


def test_decrypt_needs_a_token_and_the_decrypt_action(
    devstack: OfflineTenant, http: requests.Session
) -> None:
    """An unauthenticated decrypt gets the bearer challenge, before its body is read."""
    version = devstack.tenant.vault.latest_key(SIGNING)
    assert version is not None
    url = f"{devstack.servers['keyvault'].url}/keys/{SIGNING}/{version.version}/decrypt?{API}"
    response = http.post(url, data=b"")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization=")
