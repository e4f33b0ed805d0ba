"""Credentials, one a file; plumbing in private modules.

    managed_identity.ManagedIdentityCredential       the app's system- or user-assigned identity
    certificate.CertificateCredential                app + Key Vault certificate (exportable)
    client_secret.ClientSecretCredential             app + client secret kept in Key Vault
    federated_identity.FederatedIdentityCredential   app trusting the managed identity
    keyvault_key.KeyVaultKeyCredential               app + non-exportable Key Vault key (signs remotely)

`shared.connections` is the face the rest of the app uses.
"""

from __future__ import annotations

from shared.identity._certificate_material import CertificateMaterial, PublicCertificate, load_certificate
from shared.identity._token_cache import AccessToken
from shared.identity.certificate import CertificateCredential
from shared.identity.client_secret import ClientSecretCredential
from shared.identity.federated_identity import FederatedIdentityCredential
from shared.identity.keyvault_key import KeyVaultKeyCredential
from shared.identity.managed_identity import ManagedIdentityCredential

__all__ = [
    "AccessToken",
    "CertificateCredential",
    "CertificateMaterial",
    "ClientSecretCredential",
    "FederatedIdentityCredential",
    "KeyVaultKeyCredential",
    "ManagedIdentityCredential",
    "PublicCertificate",
    "load_certificate",
]
