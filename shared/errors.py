"""The app's exceptions: one root, a small tree.

    AutomationError                  root; every error the app raises on purpose
    ├── ConfigurationError           a setting is missing or malformed (names the setting)
    ├── CredentialError              a connection could not get a token
    │   ├── IdentityUnavailableError the identity endpoint is down or unreachable (an outage)
    │   └── AuthenticationFailedError Entra, the identity endpoint or Key Vault refused (a misconfiguration)
    ├── KeyVaultError                Key Vault could not give the object asked for
    └── UpstreamError                another service (Graph, ...) answered with an error

Foreign errors (azure-core, msal result dicts, requests) are mapped at one boundary with
``raise ... from exc``; messages say what to do and never carry a token, secret or key.
"""

from __future__ import annotations


class AutomationError(Exception):
    """Root of every error the app raises on purpose."""


class ConfigurationError(AutomationError):
    """A setting is missing or malformed; the message names it and says what is expected."""
