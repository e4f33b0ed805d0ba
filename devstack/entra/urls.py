"""URL map of Entra ID: (path, operation name, handler name, methods)."""

from __future__ import annotations

url_paths: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "/<tenant>/v2.0/.well-known/openid-configuration",
        "GetOpenIdConfiguration",
        "openid_configuration",
        ("GET",),
    ),
    (
        "/<tenant>/.well-known/openid-configuration",
        "GetOpenIdConfigurationV1",
        "openid_configuration_v1",
        ("GET",),
    ),
    ("/<tenant>/discovery/v2.0/keys", "GetKeys", "keys", ("GET",)),
    ("/<tenant>/discovery/keys", "GetKeysV1", "keys", ("GET",)),
    ("/<tenant>/oauth2/v2.0/token", "Token", "token", ("POST",)),
    ("/<tenant>/oauth2/token", "TokenV1", "token_v1", ("POST",)),
    ("/<tenant>/oauth2/v2.0/devicecode", "DeviceCode", "device_code", ("POST",)),
    ("/<tenant>/oauth2/devicecode", "DeviceCodeV1", "device_code", ("POST",)),
]
