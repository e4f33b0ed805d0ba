"""Importing function_app stays light: the identity and Key Vault SDKs load only when a route needs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The SDKs, and our modules that import them (the report, the credentials, the boundary).
HEAVY = (
    "msal",
    "requests",
    "jwt",
    "cryptography",
    "azure.core",
    "azure.identity",
    "azure.keyvault",
    "shared.boundary",
    "shared.http",
    "shared.identity",
    "shared.context._report",
    "shared.context._connection",
)


def test_importing_function_app_loads_no_identity_sdk() -> None:
    """A fresh interpreter that imports function_app and indexes it has loaded no heavy module."""
    code = (
        "import json, sys, function_app\n"
        "function_app.app.get_functions()\n"
        "roots = {'msal', 'azure', 'shared', 'requests', 'jwt', 'cryptography'}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in roots)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []


def test_context_route_is_indexed_with_function_auth() -> None:
    """GET /api/context is indexed, GET only, and needs a function key."""
    code = (
        "import json, function_app\n"
        "f = {str(x.get_function_name()): x for x in function_app.app.get_functions()}['context']\n"
        "t = f.get_trigger()\n"
        "print(json.dumps([t.route, [str(m) for m in t.methods], str(t.auth_level)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    route, methods, auth = json.loads(out.stdout.strip().splitlines()[-1])
    assert route == "context"
    assert methods in (["GET"], ["HttpMethod.GET"])
    assert auth.endswith("FUNCTION")
