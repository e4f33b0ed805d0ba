"""The connection schema: which fields each credential kind takes, and one small validator per field.

Every validator takes the raw value and the setting's name, and returns the clean value or
raises `ConfigurationError` naming the setting and saying what is expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from shared.config.kinds import CredentialKind, kind_words
from shared.config.names import ConnectionFields, EnvironmentVariables, connection_setting
from shared.config.settings import (
    SYSTEM_ASSIGNED,
    ConnectionSettings,
    IdentityIdKind,
    ManagedIdentitySettings,
)
from shared.errors import ConfigurationError

_F = ConnectionFields
K = CredentialKind
_IDENTITY_FIELDS = (
    _F.MANAGED_IDENTITY_CLIENT_ID,
    _F.MANAGED_IDENTITY_OBJECT_ID,
    _F.MANAGED_IDENTITY_RESOURCE_ID,
)
# Which fields each kind requires, and which it may have besides CREDENTIAL.
REQUIRED: dict[CredentialKind, tuple[str, ...]] = {
    K.MANAGED_IDENTITY: (),
    K.CERTIFICATE: (_F.TENANT_ID, _F.CLIENT_ID, _F.CERTIFICATE),
    K.CLIENT_SECRET: (_F.TENANT_ID, _F.CLIENT_ID, _F.SECRET),
    K.FEDERATED_IDENTITY: (_F.TENANT_ID, _F.CLIENT_ID),
    K.KEYVAULT_KEY: (_F.TENANT_ID, _F.CLIENT_ID, _F.KEY),
}
OPTIONAL: dict[CredentialKind, tuple[str, ...]] = {
    K.MANAGED_IDENTITY: (_F.TENANT_ID, _F.CLIENT_ID, *_IDENTITY_FIELDS),
    K.CERTIFICATE: (_F.SEND_CERTIFICATE_CHAIN, *_IDENTITY_FIELDS, _F.KEY_VAULT_URL),
    K.CLIENT_SECRET: (*_IDENTITY_FIELDS, _F.KEY_VAULT_URL),
    K.FEDERATED_IDENTITY: _IDENTITY_FIELDS,
    K.KEYVAULT_KEY: (*_IDENTITY_FIELDS, _F.KEY_VAULT_URL),
}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_VAULT_OBJECT = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_IDENTITY_RESOURCE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.managedidentity/"
    r"userassignedidentities/[^/]+$",
    re.IGNORECASE,
)
_PORTAL_FIELD = {
    IdentityIdKind.CLIENT_ID: "Client ID",
    IdentityIdKind.OBJECT_ID: "Object (principal) ID",
    IdentityIdKind.RESOURCE_ID: "Properties > Resource ID",
}


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def https_url(value: str, setting: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigurationError(
            f"{setting} is '{value}'; expected an https URL such as https://host[:port] "
            "(bearer tokens are only sent over TLS)."
        )
    return value.rstrip("/")


def boolean(value: str, setting: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ConfigurationError(f"{setting} is '{value}'; expected true or false.")


def credential_kind(value: str | None, setting: str) -> CredentialKind:
    try:
        return CredentialKind((value or "").lower())
    except ValueError:
        shown = repr(value) if value else "not set"
        raise ConfigurationError(f"{setting} is {shown}; expected one of {kind_words()}.") from None


def tenant_id(value: str, setting: str) -> str:
    if value.lower() in ("common", "organizations", "consumers"):
        raise ConfigurationError(
            f"{setting} is '{value}'; app-only sign-in needs the tenant's id (a GUID) "
            "or its domain (contoso.onmicrosoft.com)."
        )
    if not (is_guid(value) or _DOMAIN.match(value)):
        raise ConfigurationError(
            f"{setting} is '{value}'; expected the tenant id (a GUID) or a verified domain."
        )
    return value.lower()


def app_client_id(value: str, setting: str, *, of_identity: bool) -> str:
    if not is_guid(value):
        what = "the managed identity's" if of_identity else "the app registration's"
        raise ConfigurationError(f"{setting} is '{value}'; expected {what} client (application) id, a GUID.")
    return value.lower()


def vault_object(value: str, setting: str) -> str:
    if not _VAULT_OBJECT.match(value):
        raise ConfigurationError(
            f"{setting} is '{value}'; expected a Key Vault object name (letters, digits and '-'), "
            "not a URL or a thumbprint."
        )
    return value


def identity_id(
    value: str, setting: str, kind: IdentityIdKind, siblings: Mapping[IdentityIdKind, str]
) -> ManagedIdentitySettings:
    """A user-assigned identity named by `kind` of id; a wrong kind of id names the right setting."""
    if kind is IdentityIdKind.RESOURCE_ID:
        if _IDENTITY_RESOURCE_ID.match(value):
            return ManagedIdentitySettings(kind, value, setting)
        if is_guid(value.strip("{}")):
            problem = (
                f"this is a GUID: a client id goes in {siblings[IdentityIdKind.CLIENT_ID]}, an object "
                f"(principal) id in {siblings[IdentityIdKind.OBJECT_ID]}"
            )
        else:
            problem = "this is not a resource id"
        raise ConfigurationError(
            f"{setting} must be the user-assigned identity's resource id, "
            "/subscriptions/<subscription>/resourceGroups/<group>/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/<name> (Azure portal: Managed Identities > "
            f"{_PORTAL_FIELD[kind]}); {problem}."
        )
    if is_guid(value):
        return ManagedIdentitySettings(kind, value.lower(), setting)
    if value.lower().startswith("/subscriptions/"):
        problem = f"this looks like a resource id: set {siblings[IdentityIdKind.RESOURCE_ID]} instead"
    elif is_guid(value.strip("{}")):
        problem = "remove the braces"
    elif value.lower().startswith("api://"):
        problem = "this looks like an application id URI"
    else:
        problem = "this is not a GUID"
    other = IdentityIdKind.OBJECT_ID if kind is IdentityIdKind.CLIENT_ID else IdentityIdKind.CLIENT_ID
    raise ConfigurationError(
        f"{setting} must be the managed identity's {kind.words}, a GUID (Azure portal: Managed Identities > "
        f"Overview > {_PORTAL_FIELD[kind]}; its {other.words} goes in {siblings[other]}); {problem}."
    )


def one_identity(
    values: Mapping[IdentityIdKind, tuple[str, str]], siblings: Mapping[IdentityIdKind, str]
) -> ManagedIdentitySettings | None:
    """The identity named by at most one of the id settings (`kind -> (setting, value)`); None if none."""
    given = {k: v for k, v in values.items() if v[1]}
    if len(given) > 1:
        names = " and ".join(setting for setting, _ in given.values())
        raise ConfigurationError(f"{names} both name a managed identity; set only one.")
    for kind, (setting, value) in given.items():
        if kind is IdentityIdKind.CLIENT_ID and value.lower() == "system":
            return SYSTEM_ASSIGNED
        return identity_id(value, setting, kind, siblings)
    return None


_ID_FIELDS = {
    IdentityIdKind.CLIENT_ID: _F.MANAGED_IDENTITY_CLIENT_ID,
    IdentityIdKind.OBJECT_ID: _F.MANAGED_IDENTITY_OBJECT_ID,
    IdentityIdKind.RESOURCE_ID: _F.MANAGED_IDENTITY_RESOURCE_ID,
}


def parse_connection(
    name: str,
    fields: Mapping[str, tuple[str, str]],
    default_identity: ManagedIdentitySettings,
    default_vault: str | None,
) -> ConnectionSettings:
    """One connection from its fields (`FIELD -> (setting name, value)`), validated field by field."""

    def setting(field_name: str) -> str:
        found = fields.get(field_name)
        return found[0] if found else connection_setting(name, field_name)

    def value(field_name: str) -> str | None:
        found = fields.get(field_name)
        return found[1] or None if found else None

    kind = credential_kind(value(_F.CREDENTIAL), setting(_F.CREDENTIAL))
    allowed = {_F.CREDENTIAL, *REQUIRED[kind], *OPTIONAL[kind]}
    for field_name in sorted(fields):
        if field_name not in allowed:
            raise ConfigurationError(
                f"{setting(field_name)} is not used by credential '{kind}'; "
                f"it takes {', '.join(sorted(allowed - {_F.CREDENTIAL}))}."
            )
    for field_name in REQUIRED[kind]:
        if value(field_name) is None:
            raise ConfigurationError(f"{setting(field_name)} is required for credential '{kind}'.")

    tenant = value(_F.TENANT_ID)
    client = value(_F.CLIENT_ID)
    client = (
        app_client_id(client, setting(_F.CLIENT_ID), of_identity=kind is K.MANAGED_IDENTITY)
        if client
        else None
    )

    siblings = {k: setting(f) for k, f in _ID_FIELDS.items()}
    chosen = one_identity({k: (setting(f), value(f) or "") for k, f in _ID_FIELDS.items()}, siblings)
    identity = chosen or default_identity
    if kind is K.MANAGED_IDENTITY and client is not None:
        if chosen is not None and chosen.client_id != client:
            raise ConfigurationError(
                f"{setting(_F.CLIENT_ID)} and {chosen.setting or 'the identity setting'} name different "
                "identities; set one."
            )
        # Connect-AzAccount -Identity -AccountId <client id>
        identity = ManagedIdentitySettings(IdentityIdKind.CLIENT_ID, client, setting(_F.CLIENT_ID))

    vault = default_vault
    vault_value = value(_F.KEY_VAULT_URL)
    if vault_value is not None:
        vault = https_url(vault_value, setting(_F.KEY_VAULT_URL))
    if kind.reads_key_vault and vault is None:
        raise ConfigurationError(
            f"Credential '{kind}' of connection '{name}' reads Key Vault: set "
            f"{EnvironmentVariables.KEY_VAULT_URL} or {setting(_F.KEY_VAULT_URL)} (https://<vault>.vault.azure.net)."
        )
    objects = {
        f: vault_object(v, setting(f)) if (v := value(f)) else None
        for f in (_F.CERTIFICATE, _F.SECRET, _F.KEY)
    }
    chain = value(_F.SEND_CERTIFICATE_CHAIN)
    return ConnectionSettings(
        name=name,
        credential=kind,
        tenant_id=tenant_id(tenant, setting(_F.TENANT_ID)) if tenant else None,
        client_id=client,
        managed_identity=identity,
        certificate=objects[_F.CERTIFICATE],
        secret=objects[_F.SECRET],
        key=objects[_F.KEY],
        send_certificate_chain=boolean(chain, setting(_F.SEND_CERTIFICATE_CHAIN)) if chain else False,
        key_vault_url=vault if kind.reads_key_vault else None,
    )
