"""Every setting the app reads, read once into frozen, validated dataclasses.

    names.py     every environment variable and connection field name
    kinds.py     CredentialKind, the five credential words
    settings.py  the dataclasses (Settings, ConnectionSettings, ManagedIdentitySettings, Timing)
    schema.py    which fields each kind takes, one small validator per field
    loader.py    the environment -> Settings, cached (`get_settings`, `reset_settings`)

Named connections: `CONNECTIONS__<NAME>__<FIELD>` (docs/contract.md, Settings).
"""

from __future__ import annotations

from shared.config.kinds import CredentialKind
from shared.config.loader import get_settings, load_settings, reset_settings
from shared.config.names import ConnectionFields, EnvironmentVariables
from shared.config.settings import (
    ConnectionSettings,
    IdentityEndpoint,
    IdentityIdKind,
    ManagedIdentitySettings,
    Settings,
    Timing,
)

__all__ = [
    "ConnectionFields",
    "ConnectionSettings",
    "CredentialKind",
    "EnvironmentVariables",
    "IdentityEndpoint",
    "IdentityIdKind",
    "ManagedIdentitySettings",
    "Settings",
    "Timing",
    "get_settings",
    "load_settings",
    "reset_settings",
]
