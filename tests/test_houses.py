"""The two houses stay apart: the app never imports devstack/, the emulators never import shared/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _files(*parts: str) -> list[Path]:
    out: list[Path] = []
    for part in parts:
        p = ROOT / part
        out.extend([p] if p.is_file() else sorted(p.rglob("*.py")))
    return out


def test_app_never_imports_devstack() -> None:
    """function_app.py and shared/ import nothing from devstack/."""
    offenders = [str(p) for p in _files("function_app.py", "shared") if "devstack" in _imported_roots(p)]
    assert offenders == []


def test_emulators_never_import_the_app() -> None:
    """Nothing in devstack/ imports shared/; only devstack/host imports function_app."""
    offenders = []
    for p in _files("devstack"):
        roots = _imported_roots(p)
        if "shared" in roots:
            offenders.append(str(p))
        if "function_app" in roots and "host" not in p.relative_to(ROOT / "devstack").parts:
            offenders.append(str(p))
    assert offenders == []
