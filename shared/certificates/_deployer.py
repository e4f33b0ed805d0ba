"""The deployer's sign-in: what the bootstrap reads and writes with, on the deployer's machine.

Three ways, never a password (ROPC breaks with MFA and Conditional Access):

    cli          the Azure CLI's sign-in (`az login`): azure-identity's AzureCliCredential runs
                 `az account get-access-token --resource ... --tenant ...`
    azd          the Azure Developer CLI's (`azd auth login`): AzureDeveloperCliCredential; what
                 the azd postprovision hook uses
    device-code  a device code for the Azure CLI's public client (04b07795-...), shown on stderr:
                 open the page, type the code (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code)

Tokens are kept in memory until five minutes before they expire, and never printed.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.credentials import AccessToken

from shared import boundary
from shared.clouds import Cloud
from shared.errors import ConfigurationError

SIGN_INS = ("cli", "azd", "device-code")
# Azure CLI's public client: the device code flow signs in with it (as `az login --use-device-code`).
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
REFRESH_MARGIN_S = 300
SIGN_IN_TIMEOUT_S = 300

Prompt = Callable[[str, str, Any], None]  # (verification uri, user code, expires on)


def _print_prompt(verification_uri: str, user_code: str, expires_on: Any) -> None:
    print(
        f"To sign in as the deployer, open {verification_uri} and enter the code {user_code}.",
        file=sys.stderr,
    )


class Deployer:
    """An azure-core TokenCredential over one sign-in, with a small per-scope cache."""

    def __init__(self, credential: Any, words: str) -> None:
        self._credential = credential
        self.words = words  # "the deployer (Azure CLI sign-in)": names it in messages and hints
        self._tokens: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        key = " ".join(scopes)
        with self._lock:
            found = self._tokens.get(key)
            if found is not None and found.expires_on - REFRESH_MARGIN_S > time.time():
                return found
            ctx = boundary.Context(identity=self.words, resource=key)
            with boundary.mapped(boundary.STEP_DEPLOYER, ctx):
                token = self._credential.get_token(*scopes)
            self._tokens[key] = token
            return AccessToken(token.token, token.expires_on)

    def bearer(self, scope: str) -> str:
        return self.get_token(scope).token


def sign_in(how: str, cloud: Cloud, tenant_id: str, *, prompt: Prompt | None = None) -> Deployer:
    """The deployer's credential for `how` (one of SIGN_INS), in `tenant_id` of `cloud`."""
    from shared.http import connection_verify

    if how == "cli":
        from azure.identity import AzureCliCredential

        return Deployer(AzureCliCredential(tenant_id=tenant_id), "the deployer (Azure CLI sign-in, az login)")
    if how == "azd":
        from azure.identity import AzureDeveloperCliCredential

        return Deployer(
            AzureDeveloperCliCredential(tenant_id=tenant_id),
            "the deployer (Azure Developer CLI sign-in, azd auth login)",
        )
    if how == "device-code":
        from azure.identity import DeviceCodeCredential

        credential = DeviceCodeCredential(
            client_id=AZURE_CLI_CLIENT_ID,
            tenant_id=tenant_id,
            authority=cloud.authority_host,
            disable_instance_discovery=cloud.authority_overridden,
            connection_verify=connection_verify(),
            prompt_callback=prompt or _print_prompt,
            timeout=SIGN_IN_TIMEOUT_S,
        )
        return Deployer(credential, "the deployer (device code sign-in)")
    raise ConfigurationError(f"--sign-in must be one of {', '.join(SIGN_INS)}, not {how!r}.")
