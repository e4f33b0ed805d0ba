"""The status page as HTML: every value goes through `html.escape`; no script, no external asset.

Colour is never the only signal: each status carries a word and a symbol, each run cell its
letter and a title. Colours are chosen for AA contrast (4.5:1 for text on its background).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

_CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;background:#fff}
header,main,footer{padding:0 1rem;max-width:72rem;margin:auto}h1{font-size:1.5rem}h2{font-size:1.25rem;
margin-top:2rem;border-bottom:2px solid #444}.wrap{overflow-x:auto}table{border-collapse:collapse;
width:100%}th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top;
min-width:7rem;overflow-wrap:anywhere}
th{background:#eee}.ok{color:#0b5e1e}.degraded{color:#7a4a00}.error,.failed{color:#a4000f}
.none{color:#555}.strip{display:flex;flex-wrap:wrap;gap:2px;list-style:none;margin:0;padding:0}
.strip li{min-width:1.6rem;text-align:center;font-weight:bold;border:1px solid #333;border-radius:2px}
.strip a{color:inherit}.c-succeeded{background:#d6f5dc;color:#0b5e1e}.c-failed{background:#ffd9dc;
color:#a4000f}.c-skipped{background:#e8e8e8;color:#333}.c-duplicate{background:#dde6ff;color:#1d3d99}
.c-running,.c-queued,.c-abandoned{background:#fff3cc;color:#5c3d00}svg{max-width:100%;height:auto}
a{color:#0645ad}
"""

_MARK = {"ok": "✓", "degraded": "!", "error": "✗"}
_CELL = {"succeeded": "S", "failed": "F", "skipped": "-", "duplicate": "D"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _status(word: Any) -> str:
    w = str(word or "unknown")
    return f'<span class="{_e(w)}"><span aria-hidden="true">{_MARK.get(w, "?")} </span>{_e(w)}</span>'


def _none(text: str = "not configured") -> str:
    return f'<p class="none">{_e(text)}</p>'


def _error(part: Any) -> str | None:
    if isinstance(part, dict) and set(part) == {"error"}:
        return f'<p class="error">✗ could not be read: {_e(part["error"])}</p>'
    return None


def _table(caption: str, heads: list[str], rows: list[list[str]]) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in heads)
    # The first cell of each row names it: a row header, so screen readers announce it per cell.
    body = "".join(
        f'<tr><th scope="row">{r[0]}</th>' + "".join(f"<td>{c}</td>" for c in r[1:]) + "</tr>" for r in rows
    )
    return (
        # A region that may scroll sideways at 360 px must be reachable by keyboard (WCAG 2.1.1).
        f'<div class="wrap" tabindex="0" role="region" aria-label="{_e(caption)} table">'
        f'<table><caption class="none">{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _identity(c: dict[str, Any]) -> str:
    parts = [
        ("client", c.get("clientId")),
        ("object", c.get("servicePrincipalObjectId") or (c.get("managedIdentity") or {}).get("objectId")),
        ("tenant", c.get("tenantId")),
    ]
    return "<br>".join(f"{k} {_e(v)}" for k, v in parts if v) or "-"


def _missing(c: dict[str, Any]) -> str:
    out = [
        f"{_e(res)}: {_e(', '.join(map(str, facts.get('missing') or [])))}"
        for res, facts in (c.get("resources") or {}).items()
        if isinstance(facts, dict) and facts.get("missing")
    ]
    return "<br>".join(out) or "none"


def _diagnosis(c: dict[str, Any]) -> str:
    d = c.get("diagnosis")
    if not isinstance(d, dict):
        return "-"
    bits = [f"<strong>{_e(d.get('step'))}</strong>", _e(d.get("problem"))]
    if d.get("code"):
        bits.insert(1, f"({_e(d.get('code'))})")
    if d.get("fix"):
        bits.append(f"<br>Fix: {_e(d.get('fix'))}")
    return " ".join(bits)


def _connections(ctx: Any) -> str:
    err = _error(ctx)
    if err:
        return err
    conns = dict(ctx.get("connections") or {})
    if not conns:
        return _none("not configured: no connection is set")
    rows = [
        [
            _e(name),
            _e(c.get("credential") or "-"),
            _status(c.get("status")),
            _identity(c),
            _missing(c),
            _diagnosis(c),
        ]
        for name, c in sorted(conns.items())
    ]
    return _table("Connections", ["Name", "Kind", "Status", "Identity", "Missing roles", "Diagnosis"], rows)


def _parse(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _certificates(ctx: Any, now: datetime, rotation_days: int) -> str:
    err = _error(ctx)
    if err:
        return err
    certs = []
    for name, c in sorted(dict(ctx.get("connections") or {}).items()):
        cert = c.get("certificate") if isinstance(c, dict) else None
        not_after = _parse(cert.get("notAfter")) if isinstance(cert, dict) else None
        if isinstance(cert, dict) and not_after is not None:
            certs.append((name, cert, not_after))
    if not certs:
        return _none("not configured: no connection uses a certificate")
    threshold = now + timedelta(days=rotation_days)
    horizon_days = max(rotation_days * 2, *(((n - now).days + 10) for _, _, n in certs))
    width, label_w, row_h = 420, 120, 34
    scale = (width - label_w - 10) / horizon_days

    def x(moment: datetime) -> float:
        days = (moment - now).total_seconds() / 86400
        return label_w + max(0.0, min(days, horizon_days)) * scale

    height = 30 + row_h * len(certs)
    alt = "; ".join(
        f"{name}: expires {n:%Y-%m-%d} ({(n - now).days} days)"
        + (" within the rotation threshold" if n <= threshold else "")
        for name, _, n in certs
    )
    bars = []
    for i, (name, _cert, n) in enumerate(certs):
        y = 20 + i * row_h
        soon = n <= threshold
        fill = "#a4000f" if soon else "#0b5e1e"
        pattern = ' stroke="#000" stroke-dasharray="4 2"' if soon else ""
        bars.append(
            f'<text x="0" y="{y + 12}" font-size="13">{_e(name)}</text>'
            f'<text x="0" y="{y + 26}" font-size="12">{"! " if soon else ""}{n:%Y-%m-%d}</text>'
            f'<rect x="{label_w}" y="{y + 6}" width="{max(2.0, x(n) - label_w):.1f}" height="16" '
            f'fill="{fill}"{pattern}/>'
        )
    svg = (
        f'<svg role="img" aria-labelledby="cert-title cert-desc" viewBox="0 0 {width} {height}" '
        f'width="{width}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="cert-title">Certificate expiry timeline</title><desc id="cert-desc">{_e(alt)}</desc>'
        + "".join(bars)
        + f'<line x1="{label_w}" y1="10" x2="{label_w}" y2="{height}" stroke="#1b1b1b" stroke-width="2"/>'
        f'<text x="{label_w + 2}" y="10" font-size="11">today</text>'
        f'<line x1="{x(threshold):.1f}" y1="10" x2="{x(threshold):.1f}" y2="{height}" stroke="#7a4a00" '
        f'stroke-width="2" stroke-dasharray="6 3"/>'
        f'<text x="{x(threshold) + 2:.1f}" y="10" font-size="11">rotate ({rotation_days} d)</text></svg>'
    )
    rows = [
        [
            _e(name),
            _e(cert.get("subject")),
            _e(f"{n:%Y-%m-%d %H:%M}Z"),
            _e((n - now).days),
            _status("error" if n <= now else "degraded" if n <= threshold else "ok"),
            *_rotation(dict(ctx["connections"][name]).get("rotation")),
        ]
        for name, cert, n in certs
    ]
    return f"<figure>{svg}<figcaption>{_e(alt)}</figcaption></figure>" + _table(
        "Certificates",
        ["Connection", "Subject", "Not after", "Days left", "Status", "Next rotation", "Last rotation"],
        rows,
    )


def _rotation(rotation: Any) -> list[str]:
    """Next rotation date and last rotation run (/api/context's `rotation`), or dashes."""
    if not isinstance(rotation, dict):
        return ["-", "-"]
    moment = _parse(rotation.get("nextRotation"))
    last = rotation.get("lastRun")
    if isinstance(last, dict):
        step = f" at {last.get('failedStep')}" if last.get("failedStep") else ""
        ran = _e(f"{last.get('status')}{step} (run {last.get('id')})")
    else:
        ran = "none yet"
    return [_e(f"{moment:%Y-%m-%d %H:%M}Z") if moment else "-", ran]


def _strip(job: str, runs: list[dict[str, Any]]) -> str:
    if not runs:
        return '<span class="none">no runs yet</span>'
    cells = []
    for r in reversed(runs):  # oldest first, the newest on the right
        status = str(r.get("status"))
        when = r.get("created") or ""
        label = f"{status} run {r.get('id')} at {when}"
        href = f"jobs/{job}/runs/{r.get('id')}"
        cells.append(
            f'<li class="c-{_e(status)}" title="{_e(label)}"><a href="{_e(href)}" '
            f'aria-label="{_e(label)}">{_e(_CELL.get(status, status[:1].upper()))}</a></li>'
        )
    return f'<ul class="strip" aria-label="last {len(runs)} runs, oldest first">{"".join(cells)}</ul>'


def _jobs(jobs: Any) -> str:
    err = _error(jobs)
    if err:
        return err
    if not jobs:
        return _none("not configured: no job is declared")
    rows = []
    for j in jobs:
        sched = j.get("schedule") or {}
        last = (j.get("runs") or [None])[0]
        last_txt = "-"
        if last:
            last_txt = _status(
                "ok"
                if last.get("status") == "succeeded"
                else "error"
                if last.get("status") == "failed"
                else last.get("status")
            )
            last_txt += f" {_e(last.get('status'))} {_e(last.get('created'))}"
            if last.get("error"):
                last_txt += f"<br>{_e((last['error'] or {}).get('message'))}"
        rows.append(
            [
                _e(j.get("name")) + ("" if j.get("enabled", True) else " (disabled)"),
                f"<code>{_e(sched.get('expression'))}</code> {_e(sched.get('timeZone'))}",
                _e((sched.get("next") or ["-"])[0]),
                last_txt,
                _strip(str(j.get("name")), j.get("runs") or []),
            ]
        )
    legend = (
        '<p class="none">Cells: S succeeded, F failed, - skipped, D duplicate; each links to its run.</p>'
    )
    return _table("Jobs", ["Job", "Schedule", "Next run", "Last run", "Recent runs"], rows) + legend


def _webhooks(hooks: Any) -> str:
    err = _error(hooks)
    if err:
        return err
    subs = [s for s in hooks.get("subscriptions") or [] if isinstance(s, dict)]
    out = ["<h3>Subscriptions</h3>"]
    if not subs:
        out.append(_none("not configured: no Graph subscription is declared"))
    else:
        out.append(
            _table(
                "Graph subscriptions",
                ["Resource", "Change", "Expires", "Last notification", "Last error"],
                [
                    [
                        _e(s.get("resource") or s.get("error")),
                        _e(s.get("changeType")),
                        _e(s.get("expiration") or "not created yet"),
                        _e(s.get("lastNotification") or "-"),
                        _e(s.get("lastError") or "none"),
                    ]
                    for s in subs
                ],
            )
        )
    out.append("<h3>Events in the last 24 hours</h3>")
    sources = hooks.get("sources") or []
    if not sources:
        out.append(_none("not configured: no webhook source is declared"))
    else:
        counts = hooks.get("last24h") or {}
        statuses = ["succeeded", "failed", "duplicate", "running"]
        out.append(
            _table(
                "Events per source",
                ["Source", *statuses, "total"],
                [
                    [_e(s)]
                    + [_e((counts.get(s) or {}).get(k, 0)) for k in statuses]
                    + [_e(sum((counts.get(s) or {}).values()))]
                    for s in sources
                ],
            )
        )
    poisoned = int(hooks.get("poisoned") or 0)
    out.append(
        f"<p>Poisoned events (24 h): {_status('error' if poisoned else 'ok')} <strong>{poisoned}</strong></p>"
    )
    return "".join(out)


def render(data: dict[str, Any]) -> str:
    """The whole page from `collect()`'s data."""
    now: datetime = data["generatedAt"]
    ctx = data["context"]
    overall = ctx.get("status") if isinstance(ctx, dict) and "error" not in ctx else "error"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Status: {_e(overall)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>Automation status: {_status(overall)}</h1>"
        f"<p>Generated {_e(f'{now:%Y-%m-%d %H:%M:%S}')} UTC.</p></header><main>"
        f'<section aria-labelledby="h-conn"><h2 id="h-conn">Connections</h2>{_connections(ctx)}</section>'
        f'<section aria-labelledby="h-cert"><h2 id="h-cert">Certificates</h2>'
        f"{_certificates(ctx, now, int(data['rotationDays']))}</section>"
        f'<section aria-labelledby="h-jobs"><h2 id="h-jobs">Jobs</h2>{_jobs(data["jobs"])}</section>'
        f'<section aria-labelledby="h-hooks"><h2 id="h-hooks">Webhooks</h2>{_webhooks(data["webhooks"])}'
        "</section></main><footer><p>JSON: context, jobs, webhooks under the same /api prefix.</p></footer>"
        "</body></html>"
    )
