"""Telemetry settings (docs/contract.md, "Telemetry"): read from the environment, no SDK import.

APPLICATIONINSIGHTS_CONNECTION_STRING      set: export to Application Insights (Azure Monitor)
APPLICATIONINSIGHTS_AUTHENTICATION_STRING  `Authorization=AAD;ClientId=<client id>`: the
                                           user-assigned identity that publishes (else the
                                           system-assigned one); Entra authentication always
TELEMETRY_CONSOLE                          true: spans, metrics and logs also go to stdout
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from shared.errors import ConfigurationError

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
CONSOLE = "TELEMETRY_CONSOLE"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class TelemetrySettings:
    """Where telemetry goes; `on` is False when neither Azure Monitor nor the console is asked for."""

    connection_string: str | None
    client_id: str | None  # the publishing user-assigned identity; None = system-assigned
    console: bool

    @property
    def on(self) -> bool:
        return bool(self.connection_string) or self.console


def _flag(name: str) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}.")


def _client_id(authentication: str) -> str | None:
    """The ClientId of `Authorization=AAD;ClientId=...` (Microsoft's format for Functions)."""
    fields = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (p.partition("=") for p in authentication.split(";"))
        if k
    )
    if fields and fields.get("authorization", "").upper() != "AAD":
        raise ConfigurationError(
            f"{AUTHENTICATION_STRING} must say Authorization=AAD: local authentication is off "
            "(docs/telemetry.md)."
        )
    client_id = fields.get("clientid") or None
    if client_id is not None and not _GUID.match(client_id):
        raise ConfigurationError(
            f"{AUTHENTICATION_STRING}: ClientId must be the user-assigned identity's client id (a GUID), "
            f"not {client_id!r}."
        )
    return client_id


def telemetry_settings() -> TelemetrySettings:
    """The current settings (read each call: cheap, and tests change the environment)."""
    return TelemetrySettings(
        connection_string=(os.environ.get(CONNECTION_STRING) or "").strip() or None,
        client_id=_client_id((os.environ.get(AUTHENTICATION_STRING) or "").strip()),
        console=_flag(CONSOLE),
    )
