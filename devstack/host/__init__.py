"""The local Functions host: runs a v2-model Python app (`function_app.py`) as Azure would.

A development tool, not the Azure Functions host: HTTP, timer and queue triggers and queue
outputs, with keys, host.json and app settings honoured; anything else fails at start.
"""

from devstack.host.auth import HostKeys
from devstack.host.errors import HostStartupError
from devstack.host.indexing import DEFAULT_APP
from devstack.host.runtime import FunctionsHost
from devstack.host.settings import apply_local_settings, read_local_settings

__all__ = [
    "DEFAULT_APP",
    "FunctionsHost",
    "HostKeys",
    "HostStartupError",
    "apply_local_settings",
    "read_local_settings",
]
