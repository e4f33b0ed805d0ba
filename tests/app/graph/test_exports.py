"""shared.graph's face: `__all__` is complete and importable (httpx's test_exported_members)."""

from __future__ import annotations

import shared.graph


def test_all_lists_every_public_name() -> None:
    """Every name in `__all__` exists, once, and no other public name is exported."""
    names = shared.graph.__all__
    assert len(set(names)) == len(names)
    assert all(hasattr(shared.graph, n) for n in names)
    public = {n for n in vars(shared.graph) if not n.startswith("_") and n != "annotations"}
    assert public == set(names)
    assert shared.graph.GraphError.__module__ == "shared.errors"
