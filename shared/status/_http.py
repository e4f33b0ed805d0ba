"""`GET /api/status`: the page, with a Content-Security-Policy that forbids every fetch but inline style."""

from __future__ import annotations

import azure.functions as func

from shared.problems import respond

# No script, frame, form target or remote asset: inline <style> and nothing else. Links to run
# details are plain navigation (not governed by default-src).
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def status_response(req: func.HttpRequest) -> func.HttpResponse:
    """The status page (200 text/html), never cached: it names identities and expiry dates."""

    def build() -> func.HttpResponse:
        from shared.status._collect import collect
        from shared.status._render import render

        return func.HttpResponse(
            render(collect()),
            status_code=200,
            mimetype="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": CSP,
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    return respond(req, build)
