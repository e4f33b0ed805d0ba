"""Our managed identity behind azure-core's `TokenCredential` protocol, for the Key Vault clients.

azure-core calls `get_token(*scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs)`;
the vault's challenge names the tenant, but a managed identity only has its own, so
`tenant_id` is accepted and ignored. Errors leave as ours (azure-core lets non-Azure
exceptions through its pipeline untouched).
"""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AccessToken

from shared.config import ManagedIdentitySettings
from shared.identity.managed_identity import ManagedIdentityCredential


class ManagedIdentityTokenCredential:
    """azure-core TokenCredential over the shared, cached managed identity tokens."""

    def __init__(self, identity: ManagedIdentitySettings) -> None:
        self._credential = ManagedIdentityCredential(identity)

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        token = self._credential.get_token(scopes[0])
        return AccessToken(token.token, token.expires_on)
