"""Settings as `func start` loads them, host.json with app-setting overrides, and binding expressions."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.host.errors import HostStartupError
from devstack.host.settings import (
    HostConfig,
    apply_local_settings,
    apply_log_levels,
    parse_timespan,
    read_host_json,
    read_local_settings,
    resolve_expression,
    storage_connection_string,
)
from devstack.stack import point_storage_at_azurite


def test_local_settings_preferred_over_sample(tmp_path: Path) -> None:
    """local.settings.json wins; the sample is the fallback."""
    (tmp_path / "local.settings.sample.json").write_text(json.dumps({"Values": {"A": "sample"}}))
    assert read_local_settings(tmp_path) == {"A": "sample"}
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"A": "local", "N": 3}}))
    assert read_local_settings(tmp_path) == {"A": "local", "N": "3"}


def test_encrypted_settings_are_refused(tmp_path: Path) -> None:
    """Encrypted local settings stop the start with a hint."""
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": True, "Values": {}}))
    with pytest.raises(HostStartupError, match="decrypt"):
        read_local_settings(tmp_path)


def test_environment_wins_over_local_settings() -> None:
    """As with func start, a variable already set is not overwritten."""
    environ = {"A": "from-env"}
    skipped = apply_local_settings({"A": "from-file", "B": "b"}, environ)
    assert environ == {"A": "from-env", "B": "b"}
    assert skipped == ["A"]


def test_host_json_overridden_by_app_settings(tmp_path: Path) -> None:
    """`AzureFunctionsJobHost__extensions__queues__maxDequeueCount` overrides host.json (any case)."""
    (tmp_path / "host.json").write_text(
        json.dumps({"extensions": {"queues": {"maxDequeueCount": 5}, "http": {"routePrefix": "v1"}}})
    )
    environ = {"AzureFunctionsJobHost__Extensions__Queues__MaxDequeueCount": "2"}
    config = HostConfig.from_host_json(read_host_json(tmp_path, environ), environ)
    assert config.max_dequeue_count == 2
    assert config.route_prefix == "v1"


def test_host_config_defaults_are_azures() -> None:
    """Without host.json: prefix api, 5 dequeues, 1 minute polling, base64, 100 MB bodies."""
    config = HostConfig.from_host_json({}, {})
    assert config.route_prefix == "api"
    assert config.max_dequeue_count == 5
    assert config.max_polling_interval == timedelta(minutes=1)
    assert config.message_encoding == "base64"
    assert config.body_limit == 100 * 1024 * 1024


def test_body_limit_setting() -> None:
    """FUNCTIONS_REQUEST_BODY_SIZE_LIMIT changes the body limit."""
    assert HostConfig.from_host_json({}, {"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "10"}).body_limit == 10


def test_repo_host_json_reads() -> None:
    """The repository's host.json is understood (prefix api, polling 2 s)."""
    root = Path(__file__).resolve().parents[3]
    config = HostConfig.from_host_json(read_host_json(root, {}), {})
    assert config.route_prefix == "api"
    assert config.max_polling_interval == timedelta(seconds=2)


def test_timespans() -> None:
    """.NET TimeSpan text, with days and fractions."""
    assert parse_timespan("00:05:00") == timedelta(minutes=5)
    assert parse_timespan("1.02:00:00") == timedelta(days=1, hours=2)
    assert parse_timespan("00:00:00.500") == timedelta(milliseconds=500)
    with pytest.raises(ValueError, match="TimeSpan"):
        parse_timespan("5m")


def test_binding_expressions() -> None:
    """`%NAME%` resolves from settings; an undefined one stops the start."""
    assert resolve_expression("%Q%-items", {"Q": "work"}) == "work-items"
    with pytest.raises(HostStartupError, match="MISSING"):
        resolve_expression("%MISSING%", {})


def test_storage_connection_names() -> None:
    """Connection names resolve to a setting (AzureWebJobsStorage by default, AzureWebJobs<name> too)."""
    environ = {"AzureWebJobsStorage": "default-cs", "AzureWebJobsOther": "other-cs"}
    assert storage_connection_string(None, environ) == "default-cs"
    assert storage_connection_string("Other", environ) == "other-cs"
    with pytest.raises(HostStartupError, match="identity-based"):
        storage_connection_string("Ident", {"Ident__accountName": "acct"})


def test_development_storage_points_at_azurite() -> None:
    """UseDevelopmentStorage=true (and a missing AzureWebJobsStorage) become Azurite's real endpoints."""
    environ = {"Custom": "UseDevelopmentStorage=true", "Other": "x"}
    changed = point_storage_at_azurite(environ, "azurite-cs")
    assert sorted(changed) == ["AzureWebJobsStorage", "Custom"]
    assert environ == {"Custom": "azurite-cs", "Other": "x", "AzureWebJobsStorage": "azurite-cs"}


def test_host_json_log_levels_apply_to_python_loggers() -> None:
    """A host.json category names a Python logger; `default` is left alone."""
    name = "tests.host.settings.level-probe"
    applied = apply_log_levels({"logging": {"logLevel": {"default": "Error", name: "Warning"}}})
    assert applied == {name: logging.WARNING}
    assert logging.getLogger(name).level == logging.WARNING
