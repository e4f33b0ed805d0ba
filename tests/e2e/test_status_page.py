"""GET /api/status under `devstack up` in a real headless Chromium: three states, text, marks, axe-core.

Screenshots are saved to .devstack/artifacts/status/<state>.png (360 px wide, full page).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.browser import ARTIFACTS, AXE, CHROMIUM, axe_violations, chromium
from tests.e2e.helpers import StackProcess, start_stack

pytestmark = pytest.mark.e2e

CERT = {
    "CONNECTIONS__GRAPH_SOON__CREDENTIAL": "certificate",
    "CONNECTIONS__GRAPH_SOON__TENANT_ID": "434b7530-0ab7-490d-b439-d97439cdf1c4",
    "CONNECTIONS__GRAPH_SOON__CLIENT_ID": "316b4b46-544f-4d74-aec8-701c7e328ddb",
    "CONNECTIONS__GRAPH_SOON__CERTIFICATE": "soon-cert",
}
STATES: dict[str, dict[str, str]] = {
    "all-good": {},
    # A secret nobody stored breaks graph_secret; graph_soon's certificate ends in 5 days.
    "broken": {"CONNECTIONS__GRAPH_SECRET__SECRET": "no-such-secret", **CERT},
    # An out-of-range window makes the credential-expiry job fail with a ConfigurationError.
    "job-failing": {"JOB_CREDENTIAL_EXPIRY_DAYS": "99999"},
}


def _plain() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture(scope="module", params=sorted(STATES))
def state_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`devstack up` serving the real function_app, brought to one of the three states."""
    name = str(request.param)
    stack = start_stack(tmp_path_factory.mktemp(f"status-{name}"), STATES[name])
    try:
        state = stack.state()
        http = _plain()
        key = {"x-functions-key": state["functionKey"]}
        if name == "broken":
            r = http.post(
                f"{state['keyVaultUrl']}/_devstack/certificates/soon-cert",
                json={
                    "subject": "CN=soon",
                    "validDays": 5,
                    "registerOnApp": CERT["CONNECTIONS__GRAPH_SOON__CLIENT_ID"],
                },
                verify=state["caBundle"],
                timeout=30,
            )
            assert r.status_code == 201, r.text
        if name == "job-failing":
            r = http.post(f"{state['baseUrl']}/jobs/credential-expiry/run", headers=key, timeout=30)
            assert r.status_code == 202, r.text
            run_url = f"{state['baseUrl']}/jobs/credential-expiry/runs/{r.json()['id']}"
            deadline = time.monotonic() + 60
            while http.get(run_url, headers=key, timeout=30).json()["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, "the run did not finish"
                time.sleep(0.5)
        yield name, stack
    finally:
        stack.terminate()


# A developer's machine without Chromium skips it; CI (.ci/run sets STATUS_BROWSER_REQUIRED) must run it.
@pytest.mark.skipif(
    not (CHROMIUM.exists() and AXE.exists()) and not os.environ.get("STATUS_BROWSER_REQUIRED"),
    reason="needs chromium and node_modules/axe-core",
)
def test_page_in_a_browser(state_stack: tuple[str, StackProcess]) -> None:
    """Each state shows its text and marks at 360 px, is screenshotted, and axe finds nothing serious."""
    name, stack = state_stack
    state = stack.state()
    url = f"{state['baseUrl']}/status?code={state['functionKey']}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as context:
        page = context.new_page()
        blocked: list[str] = []
        page.on(
            "request",
            lambda req: blocked.append(req.url) if not req.url.startswith(state["baseUrl"]) else None,
        )
        response = page.goto(url, wait_until="load")
        assert response is not None
        assert response.status == 200
        text = page.inner_text("body")
        shot = Path(ARTIFACTS / f"{name}.png")
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000
        # Readable at 360 px: the page itself does not scroll sideways (wide tables scroll alone).
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.locator("main").count() == 1
        assert page.locator("svg[role=img] title").text_content() == "Certificate expiry timeline"
        assert "graph_cert" in text
        if name == "all-good":
            assert page.title() == "Status: ok"
            assert "✗" not in text
        if name == "broken":
            assert page.title() == "Status: error"
            row = page.locator("tr", has_text="graph_secret").first.inner_text()
            assert "error" in row
            assert "no-such-secret" in row or "Fix:" in row
            soon = page.locator("tr", has_text="CN=soon").first.inner_text()
            assert "degraded" in soon
            assert "within the rotation threshold" in str(page.locator("svg desc").text_content())
        if name == "job-failing":
            row = page.locator("tr", has_text="credential-expiry").first.inner_text()
            assert "failed" in row
            cell = page.locator("ul.strip li.c-failed a").first
            assert cell.inner_text() == "F"
            assert "failed run" in str(cell.get_attribute("aria-label"))
        serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
        assert serious == []
    assert blocked == []


def test_page_needs_a_key(state_stack: tuple[str, StackProcess]) -> None:
    """Through the host: 401 problem+json without a key, 200 HTML with it; the banner prints the URL."""
    state = state_stack[1].state()
    url = f"{state['baseUrl']}/status"
    assert f"Status page: {url}?code={state['functionKey']}" in state_stack[1].log_text()
    http = _plain()
    for headers in ({}, {"x-functions-key": "wrong"}):
        r = http.get(url, headers=headers, timeout=30)
        assert r.status_code == 401
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert "<html" not in r.text
    r = http.get(url, headers={"x-functions-key": state["functionKey"]}, timeout=60)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert state["functionKey"] not in r.text
