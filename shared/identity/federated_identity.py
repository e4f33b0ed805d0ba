"""An app registration trusting the function app's managed identity (a federated credential).

The assertion is the identity's token for the cloud's token-exchange audience
(`api://AzureADTokenExchange`, ...China, ...USGov), handed to msal as a callable so it is
taken from the shared managed identity cache at each token request. Works for another
tenant's multitenant app: TENANT_ID is the app's tenant, the identity stays in its own.
"""

from __future__ import annotations

from shared.clouds import Cloud
from shared.config import ConnectionSettings
from shared.identity._app_credential import AppCredential
from shared.identity.managed_identity import ManagedIdentityCredential


class FederatedIdentityCredential(AppCredential):
    """Client credentials with the managed identity's token as the client assertion."""

    kind = "federated-identity"

    def __init__(self, settings: ConnectionSettings, cloud: Cloud) -> None:
        super().__init__(settings, cloud)
        self._identity = ManagedIdentityCredential(settings.managed_identity, settings.name)
        self.audience = cloud.token_exchange_audience

    def _assertion(self) -> str:
        return self._identity.get_token(f"{self.audience}/.default").token

    def _client_credential(self) -> dict[str, object]:
        return {"client_assertion": self._assertion}

    def facts(self) -> dict[str, object]:
        return {"certificate": None, "tokenExchangeAudience": self.audience}
