"""Telemetry settings: off by default, Entra authentication with the app's identity, bad values named."""

from __future__ import annotations

import pytest
from azure.identity import ManagedIdentityCredential

from shared.errors import ConfigurationError
from shared.telemetry import telemetry_settings
from shared.telemetry._pipeline import ScrubLogs, ScrubSpans, azure_monitor_options

CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/"
CLIENT_ID = "eae93b2c-b513-4468-a36e-aaf06544a6c2"


@pytest.fixture(autouse=True)
def _no_telemetry_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "TELEMETRY_CONSOLE",
        "OTEL_TRACES_SAMPLER",
    ):
        monkeypatch.delenv(name, raising=False)


def test_off_without_a_connection_string_or_console() -> None:
    """No setting: telemetry is off."""
    assert telemetry_settings().on is False


def test_console_alone_turns_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """TELEMETRY_CONSOLE=true without Application Insights: on, console only."""
    monkeypatch.setenv("TELEMETRY_CONSOLE", "true")
    settings = telemetry_settings()
    assert settings.on
    assert settings.connection_string is None


def test_console_flag_must_be_a_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    """TELEMETRY_CONSOLE=maybe is a ConfigurationError naming the setting."""
    monkeypatch.setenv("TELEMETRY_CONSOLE", "maybe")
    with pytest.raises(ConfigurationError, match="TELEMETRY_CONSOLE"):
        telemetry_settings()


def test_user_assigned_identity_comes_from_the_authentication_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Authorization=AAD;ClientId=<guid>` names the user-assigned identity that publishes."""
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", CONNECTION)
    monkeypatch.setenv("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", f"Authorization=AAD;ClientId={CLIENT_ID}")
    settings = telemetry_settings()
    assert (settings.connection_string, settings.client_id) == (CONNECTION, CLIENT_ID)


@pytest.mark.parametrize(
    ("value", "named"),
    [("Authorization=Key", "Authorization=AAD"), ("Authorization=AAD;ClientId=my-identity", "GUID")],
)
def test_bad_authentication_string_is_named(value: str, named: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Local (key) authentication or a client id that is not a GUID is refused with what to write."""
    monkeypatch.setenv("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", value)
    with pytest.raises(ConfigurationError, match=named):
        telemetry_settings()


def test_azure_monitor_gets_the_managed_identity_and_the_scrubbers_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """configure_azure_monitor's keywords: the app's identity as credential, scrubbing before export."""
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", CONNECTION)
    monkeypatch.setenv("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", f"Authorization=AAD;ClientId={CLIENT_ID}")
    options = azure_monitor_options(telemetry_settings())
    assert options["connection_string"] == CONNECTION
    assert isinstance(options["credential"], ManagedIdentityCredential)
    assert isinstance(options["span_processors"][0], ScrubSpans)
    assert isinstance(options["log_record_processors"][0], ScrubLogs)
    assert options["logger_name"] == "shared"
    assert options["sampling_ratio"] == 1.0  # every run's trace, the first one included
