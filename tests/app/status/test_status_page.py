"""GET /api/status through function_app's handler on the offline tenant and Azurite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser

import azure.functions as func
import pytest

import function_app
from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.context._probe import reset_probe_cache
from shared.identity import connection, reset_connections
from shared.runs import Kind, Ledger, Status
from shared.status import CSP
from shared.storage import Account
from tests.app.context.support import sample_connections
from tests.app.jobs.support import declared


@pytest.fixture
def app_env(devstack: OfflineTenant, storage: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's environment as `make run` sets it, on the test's own storage names."""
    for name, value in {**devstack.app_settings(), **sample_connections()}.items():
        monkeypatch.setenv(name, value)
    reset_connections()
    reset_probe_cache()
    yield
    reset_connections()
    reset_probe_cache()


def _page() -> tuple[func.HttpResponse, str]:
    req = func.HttpRequest("GET", "http://localhost/api/status", headers={}, params={}, body=b"")
    resp = function_app.status(req)
    return resp, resp.get_body().decode()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs


def test_page_shows_every_section_with_its_headers(app_env: None) -> None:
    """The page is HTML under a strict CSP with landmarks, headings, every connection and a timeline."""
    resp, html = _page()
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    assert resp.headers["Content-Security-Policy"] == CSP
    assert "default-src 'none'" in CSP
    assert "script" not in CSP
    assert resp.headers["Cache-Control"] == "no-store"
    tags = _Tags()
    tags.feed(html)
    assert {"main", "header", "footer", "h1", "h2", "th", "svg", "title", "desc"} <= set(tags.tags)
    assert not {"script", "link", "img", "iframe"} & set(tags.tags)
    assert not [v for k, v in tags.attrs if k in ("src", "href") and v and re.match(r"\w+:", v)]
    for name in sample_connections():
        if name.endswith("__CREDENTIAL"):
            assert name.split("__")[1].lower() in html
    assert "Certificate expiry timeline" in html
    # The timeline's two markers: a solid line at today, a dashed one at the rotation threshold.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert re.search(r'<line [^>]*stroke-width="2"/><text [^>]*>today</text>', svg)
    assert re.search(r'<line [^>]*stroke-dasharray="6 3"/><text [^>]*>rotate \(30 d\)</text>', svg)
    assert svg.count("<rect ") == 2  # one bar per certificate: graph_cert and graph_kvkey
    assert "credential-expiry" in html  # the built-in job
    assert "not configured: no Graph subscription is declared" in html


def test_job_runs_show_as_cells_with_words_and_links(app_env: None, storage: Account) -> None:
    """A job's runs show as lettered cells linking to their details; a failure's message is escaped."""
    ledger = Ledger(storage)
    with declared("nightly", lambda ctx: None, schedule="0 0 2 * * *"):
        ids = []
        for status in (Status.SUCCEEDED, Status.SKIPPED, Status.DUPLICATE, Status.FAILED):
            run = ledger.new(Kind.JOB, "nightly", trigger="timer", status=status)
            if status == Status.FAILED:
                from shared.runs import ErrorSummary

                run = run.evolve(error=ErrorSummary.text("Boom", "<b>the export</b> failed"))
            ledger.record(run)
            ids.append(run.id)
        _resp, html = _page()
    row = re.search(r'<tr><th scope="row">nightly</th>(.*?)</tr>', html)
    assert row is not None
    assert "<td><code>0 0 2 * * *</code> UTC</td>" in row[1]  # its schedule, then its next run
    assert re.search(r"<td>\d{4}-\d\d-\d\dT02:00:00Z</td>", row[1])
    for run_id in ids:
        assert f'href="jobs/nightly/runs/{run_id}"' in html
    for word in ("failed", "skipped", "duplicate"):
        assert f"{word} run " in html
    assert "&lt;b&gt;the export&lt;/b&gt; failed" in html
    assert "<b>the export" not in html
    assert "S succeeded, F failed" in html


def test_page_holds_no_token_or_secret(app_env: None, devstack: OfflineTenant) -> None:
    """No bearer token the connections use, and no Key Vault secret value, appears in the page."""
    secrets = [
        connection(n.split("__")[1]).token("graph").value
        for n in sample_connections()
        if n.endswith("__CREDENTIAL")
    ]
    secret = devstack.tenant.vault.latest_secret("entra-automation-secret")
    assert secret is not None
    secrets.append(secret.value)
    reset_connections()
    _resp, html = _page()
    assert len(html) > 1000
    for value in secrets:
        assert value not in html
        assert value[:40] not in html
    assert not re.search(r"eyJ[\w-]{10,}\.", html)  # nothing shaped like a JWT


def test_webhook_events_show_per_source_with_the_poison_count(
    app_env: None, storage: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscriptions show with their expiry; 24 h of events are counted per source and status, poison too."""
    from shared.webhooks._subscriptions import PARTITION, TABLE, Declaration

    monkeypatch.setenv("WEBHOOKS_GRAPH_SUBSCRIPTIONS", '[{"resource": "users", "changeType": "updated"}]')
    key = Declaration("users", "updated").key
    expiry = "2026-12-30T10:00:00.0000000Z"
    storage.upsert(
        TABLE, {"PartitionKey": PARTITION, "RowKey": key, "subscriptionId": "s-1", "expiration": expiry}
    )
    ledger = Ledger(storage)
    for name, status, detail in (
        ("standard", Status.SUCCEEDED, {}),
        ("standard", Status.SUCCEEDED, {}),
        ("standard", Status.DUPLICATE, {}),
        ("graph", Status.FAILED, {"poisoned": True}),
    ):
        ledger.record(ledger.new(Kind.WEBHOOK, name, trigger="http", status=status, detail=detail))
    with clock.use(clock.ManualClock(clock.now() - timedelta(hours=25))):  # outside the window
        ledger.record(ledger.new(Kind.WEBHOOK, "standard", trigger="http", status=Status.FAILED))
    _resp, html = _page()
    # One row per source: succeeded, failed, duplicate, running, total.
    cells = r"<tr><th scope=\"row\">(\w+)</th>" + r"<td>(\d+)</td>" * 5 + "</tr>"
    rows = {m[0]: m[1:] for m in re.findall(cells, html)}
    assert rows["standard"] == ("2", "0", "1", "0", "3")
    assert rows["graph"] == ("0", "1", "0", "0", "1")
    assert f'<tr><th scope="row">users</th><td>updated</td><td>{expiry}</td><td>-</td>' in html
    assert re.search(r"Poisoned events \(24 h\): <span class=\"error\">.*?</span> <strong>1</strong>", html)


def test_a_connection_missing_a_role_shows_it_and_the_fix(app_env: None) -> None:
    """A role the code requires but the identity lacks: the row says degraded, names the role and the fix."""
    from shared.permissions import GRAPH, registry

    item = registry.require("graph_mi", GRAPH, roles={"Group.Read.All"}, by="job:group-report")
    try:
        _resp, html = _page()
    finally:
        registry.withdraw(item)
    row = re.search(r'<tr><th scope="row">graph_mi</th>(.*?)</tr>', html)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row[1])
    kind, status, _identity, missing, diagnosis = cells
    assert kind == "managed-identity"
    assert "degraded" in status
    assert missing == "graph: Group.Read.All"
    assert "Group.Read.All" in diagnosis
