"""Key Vault's create certificate honours the policy's RSA key size (2048, 3072, 4096) and refuses others."""

from __future__ import annotations

import secrets

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy, KeyType
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa


def _policy(size: int) -> CertificatePolicy:
    return CertificatePolicy(
        issuer_name="Self", subject="CN=sized", key_type=KeyType.rsa, key_size=size, validity_in_months=1
    )


@pytest.mark.parametrize("size", [3072, 4096])
def test_the_certificate_has_the_key_size_asked_for(client: CertificateClient, size: int) -> None:
    """A 3072- or 4096-bit policy gives a certificate with that RSA key, and the policy says so."""
    name = "sized-" + secrets.token_hex(4)
    client.begin_create_certificate(name, _policy(size), _polling_interval=0).result()
    made = client.get_certificate(name)
    assert made.cer is not None
    public = x509.load_der_x509_certificate(bytes(made.cer)).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == size
    assert client.get_certificate_policy(name).key_size == size


def test_a_key_size_key_vault_does_not_offer_is_bad_parameter(client: CertificateClient) -> None:
    """1024 bits: 400 BadParameter, and no certificate."""
    name = "sized-" + secrets.token_hex(4)
    with pytest.raises(HttpResponseError) as caught:
        client.begin_create_certificate(name, _policy(1024), _polling_interval=0).result()
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"
