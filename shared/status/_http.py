"""`GET /api/status`: the page, with a Content-Security-Policy that forbids every fetch but inline style."""

from __future__ import annotations

import azure.functions as func

from shared.problems import instance_of, problem_response, respond

# No script, frame, form target or remote asset: inline <style> and nothing else. Links to run
# details are plain navigation (not governed by default-src).
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def status_response(req: func.HttpRequest) -> func.HttpResponse:
    """The status page (200 text/html), never cached: it names identities and expiry dates.

    With Easy Auth on (shared/status/_easy_auth.py) the host lets every request through and the
    page requires the platform's principal: 401 problem+json without one.
    """
    from shared.status._easy_auth import easy_auth_enabled, principal_name

    if easy_auth_enabled() and principal_name(req.headers) is None:
        return problem_response(
            401,
            "App Service authentication is on and this request carries no signed-in principal.",
            slug="sign-in-required",
            instance=instance_of(req),
            hint="Open the page in a browser signed in through the app's authentication (/.auth/login/aad).",
        )

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
