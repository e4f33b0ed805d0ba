"""Every setting name the app reads (azure-identity keeps its own in `_constants.py` the same way)."""

from __future__ import annotations


class EnvironmentVariables:
    """Every environment variable name the app reads."""

    AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
    # The app's user-assigned identity by another id than its client id (at most one of the three).
    AZURE_MANAGED_IDENTITY_OBJECT_ID = "AZURE_MANAGED_IDENTITY_OBJECT_ID"
    AZURE_MANAGED_IDENTITY_RESOURCE_ID = "AZURE_MANAGED_IDENTITY_RESOURCE_ID"
    AZURE_CLOUD = "AZURE_CLOUD"
    AZURE_AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"
    GRAPH_URL = "GRAPH_URL"
    ARM_URL = "ARM_URL"
    KEY_VAULT_URL = "KEY_VAULT_URL"
    REQUESTS_CA_BUNDLE = "REQUESTS_CA_BUNDLE"
    # Set by App Service / Functions when a managed identity is enabled.
    IDENTITY_ENDPOINT = "IDENTITY_ENDPOINT"
    IDENTITY_HEADER = "IDENTITY_HEADER"
    # Optional tuning; the defaults suit Functions' invocation limits.
    TOKEN_DEADLINE_SECONDS = "TOKEN_DEADLINE_SECONDS"
    RETRY_AFTER_CAP_SECONDS = "RETRY_AFTER_CAP_SECONDS"
    KEY_VAULT_REFRESH_SECONDS = "KEY_VAULT_REFRESH_SECONDS"
    CONNECTIONS_PREFIX = "CONNECTIONS__"


class ConnectionFields:
    """The `<FIELD>` part of `CONNECTIONS__<NAME>__<FIELD>`."""

    CREDENTIAL = "CREDENTIAL"
    TENANT_ID = "TENANT_ID"
    CLIENT_ID = "CLIENT_ID"
    CERTIFICATE = "CERTIFICATE"
    SECRET = "SECRET"
    KEY = "KEY"
    SEND_CERTIFICATE_CHAIN = "SEND_CERTIFICATE_CHAIN"
    MANAGED_IDENTITY_CLIENT_ID = "MANAGED_IDENTITY_CLIENT_ID"
    MANAGED_IDENTITY_OBJECT_ID = "MANAGED_IDENTITY_OBJECT_ID"
    MANAGED_IDENTITY_RESOURCE_ID = "MANAGED_IDENTITY_RESOURCE_ID"
    KEY_VAULT_URL = "KEY_VAULT_URL"


def connection_setting(name: str, field_name: str) -> str:
    """`CONNECTIONS__<NAME>__<FIELD>`, the app setting's name for messages."""
    return f"{EnvironmentVariables.CONNECTIONS_PREFIX}{name.upper()}__{field_name}"
