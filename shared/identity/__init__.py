"""Connections: tokens for any resource and a Graph client, as configured by `CONNECTIONS__<NAME>__*`.

    from shared.identity import connection
    conn = connection("graph_cert")          # long-lived, lazy, thread-safe
    conn.token("graph").value                # graph | arm | exchange | keyvault | storage, or a URI
    conn.graph.pages("/users", select=["id", "displayName"])
    conn.facts                               # frozen dataclass, no I/O, never a secret

Importing this package loads no SDK: a connection's credential (msal, the Key Vault clients)
is imported when the connection is first used. One credential a file:

    managed_identity.ManagedIdentityCredential       the app's system- or user-assigned identity
    certificate.CertificateCredential                app + Key Vault certificate (exportable)
    client_secret.ClientSecretCredential             app + client secret kept in Key Vault
    federated_identity.FederatedIdentityCredential   app trusting the managed identity
    keyvault_key.KeyVaultKeyCredential               app + non-exportable Key Vault key (signs remotely)

Errors are shared.errors' tree; foreign ones are mapped in shared/boundary.py.
"""

from __future__ import annotations

from shared.config import CredentialKind
from shared.identity._connection import Connection, connection, connection_names, reset_connections
from shared.identity._token import Token
from shared.identity.facts import CertificateFacts, ConnectionFacts, ManagedIdentityFacts

__all__ = [
    "CertificateFacts",
    "Connection",
    "ConnectionFacts",
    "CredentialKind",
    "ManagedIdentityFacts",
    "Token",
    "connection",
    "connection_names",
    "reset_connections",
]
