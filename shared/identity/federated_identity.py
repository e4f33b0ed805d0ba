"""An app registration trusting the function app's managed identity (a federated credential).

The assertion is the identity's token for the cloud's token-exchange audience
(`api://AzureADTokenExchange`, ...China, ...USGov), handed to msal as a callable so it is
taken from the managed identity's connection (its token cache) at each token request. Works for another
tenant's multitenant app: TENANT_ID is the app's tenant, the identity stays in its own.
"""

from __future__ import annotations

from shared.clouds import Cloud
from shared.config import ConnectionSettings, CredentialKind
from shared.identity._app_credential import AppCredential


class FederatedIdentityCredential(AppCredential):
    """Client credentials with the managed identity's token as the client assertion."""

    kind = CredentialKind.FEDERATED_IDENTITY

    def __init__(self, settings: ConnectionSettings, cloud: Cloud) -> None:
        super().__init__(settings, cloud)
        self.audience = cloud.token_exchange_audience

    def _assertion(self) -> str:
        from shared.identity._connection import identity_connection

        return identity_connection(self.settings.managed_identity).token(f"{self.audience}/.default").value

    def _client_credential(self) -> dict[str, object]:
        return {"client_assertion": self._assertion}

    def facts_fields(self) -> dict[str, object]:
        return {"token_exchange_audience": self.audience}
