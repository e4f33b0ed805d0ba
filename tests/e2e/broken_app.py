"""An app whose import fails: the host must refuse to start."""

from __future__ import annotations

raise RuntimeError("broken on purpose")
