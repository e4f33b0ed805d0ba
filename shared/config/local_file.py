"""`local.settings.json`'s `Values` for the command-line tools (`python -m shared.jobs`, `python -m
shared.certificates`), as the Functions host applies them: a variable already set wins
(https://learn.microsoft.com/azure/azure-functions/functions-develop-local#local-settings-file).
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path


def apply_local_settings(
    path: Path = Path("local.settings.json"), environ: MutableMapping[str, str] = os.environ
) -> None:
    """Set each of the file's `Values` that `environ` does not have yet; no file, no change."""
    if not path.exists():
        return
    values = json.loads(path.read_text(encoding="utf-8")).get("Values") or {}
    for name, value in values.items():
        environ.setdefault(name, str(value))
