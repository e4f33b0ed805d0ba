"""App settings and host.json as the Functions host reads them.

`local.settings.json` Values become environment variables the way `func start` sets them (a variable
already in the environment wins), `host.json` values can be overridden with
`AzureFunctionsJobHost__<path>` settings as in Azure, and `%NAME%` binding expressions resolve from
the settings.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack.host.errors import HostStartupError

logger = logging.getLogger(__name__)

HOST_OVERRIDE_PREFIX = "azurefunctionsjobhost__"
DEFAULT_STORAGE_SETTING = "AzureWebJobsStorage"
# Azure's default request body limit (100 MB); the same app setting overrides it there.
BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
DEFAULT_BODY_LIMIT = 100 * 1024 * 1024

_EXPRESSION = re.compile(r"%([^%]+)%")
_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:\.\d+)?)$")


def read_local_settings(root: Path) -> dict[str, str]:
    """Values of `local.settings.json`, or of `local.settings.sample.json` when there is none."""
    for name in ("local.settings.json", "local.settings.sample.json"):
        path = root / name
        if path.is_file():
            break
    else:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HostStartupError(f"{path.name} is not valid JSON: {exc}") from exc
    if document.get("IsEncrypted"):
        # func encrypts with a machine key we cannot use; decrypt it with `func settings decrypt`.
        raise HostStartupError(f"{path.name} is encrypted; run `func settings decrypt` or recreate it")
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise HostStartupError(f"{path.name}: Values must be an object of strings")
    logger.info("Settings loaded from %s", path.name)
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def apply_local_settings(values: Mapping[str, str], environ: MutableMapping[str, str]) -> list[str]:
    """Copy settings into the environment unless already defined there (as `func start` does)."""
    skipped = []
    for name, value in values.items():
        if environ.get(name):
            skipped.append(name)
            continue
        environ[name] = value
    for name in skipped:
        logger.warning("Skipping '%s' from local settings as it's already defined in the environment", name)
    return skipped


def resolve_expression(value: str, environ: Mapping[str, str]) -> str:
    """Replace each `%NAME%` with the setting NAME; a missing setting stops the start."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise HostStartupError(f"binding expression '%{name}%' refers to a setting that is not defined")
        return environ[name]

    return _EXPRESSION.sub(lookup, value)


def parse_timespan(text: str) -> timedelta:
    """A .NET TimeSpan ("00:05:00", "1.02:00:00", "00:00:00.500") as a timedelta."""
    match = _TIMESPAN.match(text.strip())
    if not match:
        raise ValueError(f"not a TimeSpan (expected [d.]hh:mm:ss): {text!r}")
    return timedelta(
        days=int(match["days"] or 0),
        hours=int(match["h"]),
        minutes=int(match["m"]),
        seconds=float(match["s"]),
    )


def _set_path(document: dict[str, Any], path: list[str], value: str) -> None:
    node = document
    for part in path[:-1]:
        # .NET configuration keys are case-insensitive: reuse the spelling host.json has.
        key = next((k for k in node if k.lower() == part.lower()), part)
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    last = next((k for k in node if k.lower() == path[-1].lower()), path[-1])
    node[last] = value


def read_host_json(root: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """host.json with `AzureFunctionsJobHost__a__b` settings applied on top."""
    path = root / "host.json"
    document: dict[str, Any] = {}
    if path.is_file():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HostStartupError(f"host.json is not valid JSON: {exc}") from exc
    for name, value in environ.items():
        if name.lower().startswith(HOST_OVERRIDE_PREFIX):
            parts = [p for p in name[len(HOST_OVERRIDE_PREFIX) :].split("__") if p]
            if parts:
                _set_path(document, parts, value)
    return document


def _get(document: Mapping[str, Any], *path: str) -> Any:
    node: Any = document
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = next((v for k, v in node.items() if k.lower() == part.lower()), None)
    return node


@dataclass(frozen=True)
class HostConfig:
    """The host.json values the local host honours, with Azure's defaults."""

    route_prefix: str = "api"
    function_timeout: timedelta = timedelta(minutes=5)
    max_dequeue_count: int = 5
    visibility_timeout: timedelta = timedelta(0)
    max_polling_interval: timedelta = timedelta(minutes=1)
    batch_size: int = 16
    message_encoding: str = "base64"
    body_limit: int = DEFAULT_BODY_LIMIT

    @classmethod
    def from_host_json(cls, document: Mapping[str, Any], environ: Mapping[str, str]) -> HostConfig:
        """Read the values from a host.json document (already overridden) and the body limit setting."""
        default = cls()

        def timespan(value: Any, fallback: timedelta, name: str) -> timedelta:
            if value is None:
                return fallback
            try:
                return parse_timespan(str(value))
            except ValueError as exc:
                raise HostStartupError(f"host.json {name}: {exc}") from exc

        def integer(value: Any, fallback: int, name: str) -> int:
            if value is None or value == "":
                return fallback
            try:
                return int(value)
            except (TypeError, ValueError) as exc:
                raise HostStartupError(f"{name} must be an integer, got {value!r}") from exc

        prefix = _get(document, "extensions", "http", "routePrefix")
        encoding = str(_get(document, "extensions", "queues", "messageEncoding") or "base64").lower()
        if encoding not in ("base64", "none"):
            raise HostStartupError(f"host.json extensions.queues.messageEncoding: unknown value {encoding!r}")
        return cls(
            route_prefix=default.route_prefix if prefix is None else str(prefix).strip("/"),
            function_timeout=timespan(
                _get(document, "functionTimeout"), default.function_timeout, "functionTimeout"
            ),
            max_dequeue_count=integer(
                _get(document, "extensions", "queues", "maxDequeueCount"),
                default.max_dequeue_count,
                "host.json extensions.queues.maxDequeueCount",
            ),
            visibility_timeout=timespan(
                _get(document, "extensions", "queues", "visibilityTimeout"),
                default.visibility_timeout,
                "extensions.queues.visibilityTimeout",
            ),
            max_polling_interval=timespan(
                _get(document, "extensions", "queues", "maxPollingInterval"),
                default.max_polling_interval,
                "extensions.queues.maxPollingInterval",
            ),
            batch_size=integer(
                _get(document, "extensions", "queues", "batchSize"),
                default.batch_size,
                "host.json extensions.queues.batchSize",
            ),
            message_encoding=encoding,
            body_limit=integer(environ.get(BODY_LIMIT_SETTING), default.body_limit, BODY_LIMIT_SETTING),
        )


_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}


def apply_log_levels(document: Mapping[str, Any]) -> dict[str, int]:
    """Set the levels host.json `logging.logLevel` gives per category on the Python loggers of those names.

    Azure's worker forwards Python log records by logger name, so a category such as
    `azure.core.pipeline.policies.http_logging_policy` silences the SDK's per-request lines; the
    `default` level is left to `--log-level`.
    """
    levels = _get(document, "logging", "logLevel")
    applied: dict[str, int] = {}
    if not isinstance(levels, Mapping):
        return applied
    for category, name in levels.items():
        level = _LEVELS.get(str(name).lower())
        if category.lower() != "default" and level is not None:
            logging.getLogger(category).setLevel(level)
            applied[category] = level
    return applied


def storage_connection_string(connection: str | None, environ: Mapping[str, str]) -> str:
    """The connection string a binding's `connection` names (AzureWebJobsStorage when empty)."""
    name = connection or DEFAULT_STORAGE_SETTING
    for candidate in (name, f"AzureWebJobs{name}"):
        value = environ.get(candidate)
        if value:
            if value.strip().lower().startswith("usedevelopmentstorage=true"):
                raise HostStartupError(f"setting '{candidate}' is UseDevelopmentStorage=true without Azurite")
            return value
    if any(k.lower().startswith(f"{name.lower()}__") for k in environ):
        raise HostStartupError(
            f"connection '{name}' is identity-based; the local host needs a connection string "
            f"(set {name} to UseDevelopmentStorage=true to use Azurite)"
        )
    raise HostStartupError(f"connection '{name}': no setting named {name} holds a storage connection string")
