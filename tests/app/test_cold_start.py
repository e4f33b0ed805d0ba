"""Importing function_app stays light (no SDK until a route needs it) and registers every role declaration."""

from __future__ import annotations

import ast
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
    "opentelemetry",
    "azure.monitor",
    "shared.telemetry._pipeline",
)


def test_importing_function_app_loads_no_identity_sdk() -> None:
    """A fresh interpreter that imports function_app and indexes it has loaded no heavy module."""
    code = (
        "import json, sys, function_app\n"
        "function_app.app.get_functions()\n"
        "roots = {'msal', 'azure', 'shared', 'requests', 'jwt', 'cryptography', 'opentelemetry'}\n"
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


def _declaring_modules() -> list[str]:
    """Modules under shared/ that call `require(...)` / `registry.require(...)` at module level."""
    found = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            call = node.value if isinstance(node, ast.Expr) else None
            if isinstance(call, ast.Call):
                func = call.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "require":
                    found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
                    break
    return found


def test_every_role_declaration_is_known_once_the_app_is_indexed() -> None:
    """After import + indexing, every module that declares roles is loaded and its roles registered."""
    declaring = _declaring_modules()
    assert "shared.context.declarations" in declaring
    code = (
        "import json, sys, function_app\n"
        "function_app.app.get_functions()\n"
        "from shared.permissions import registry\n"
        f"mods = {declaring!r}\n"
        "print(json.dumps({'missing': [m for m in mods if m not in sys.modules],\n"
        "  'graph_roles': registry.for_connection('any').get('graph', {})}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["missing"] == []
    assert result["graph_roles"]["Organization.Read.All"] == ["context:graph-probe"]
