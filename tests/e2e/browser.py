"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) and axe-core from node_modules."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / ".devstack" / "artifacts" / "status"
# Without the background-networking flags Chromium dials Google's services, which a closed
# network refuses (and a CI log fills with).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with a new empty profile; yields a Playwright browser context."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 360, "height": 800},
            ignore_https_errors=False,
            # The page's CSP forbids every script; axe-core is injected by the test only.
            bypass_csp=True,
        )
        try:
            yield context
        finally:
            context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations (WCAG 2 A/AA and best practices) for the loaded page."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
