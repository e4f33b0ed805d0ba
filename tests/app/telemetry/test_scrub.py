"""What telemetry may carry: URLs lose query string and user info; credential-shaped text is blanked."""

from __future__ import annotations

import logging

import pytest

from shared.telemetry._scrub import scrub, scrub_attributes, scrub_url
from tests.app.telemetry.support import Captured, exported_text


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://vault.example/secrets/x/?api-version=7.5", "https://vault.example/secrets/x/"),
        ("http://169.254.1.1/msi/token?resource=https://vault.azure.net", "http://169.254.1.1/msi/token"),
        (
            "https://graph.microsoft.com/v1.0/users?$skiptoken=abc#frag",
            "https://graph.microsoft.com/v1.0/users",
        ),
        ("https://user:pw@host.example/path?q=1", "https://host.example/path"),
        ("/v1.0/users?$top=5", "/v1.0/users"),
        ("GET", "GET"),
    ],
)
def test_urls_lose_query_fragment_and_user_info(url: str, kept: str) -> None:
    """Each URL-shaped value keeps scheme, host and path only."""
    assert scrub_url(url) == kept


def test_jwts_and_query_attributes_are_removed() -> None:
    """A JWT inside any string becomes a marker; url.query is dropped; numbers are kept."""
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    cleaned = scrub_attributes({"note": f"token {jwt}", "url.query": "a=b", "http.status_code": 200})
    assert cleaned == {"note": "token [redacted]", "http.status_code": 200}
    assert scrub(("x?y", f"https://h/p?t={jwt}")) == ("x?y", "https://h/p")


def test_a_log_line_carrying_a_jwt_is_exported_redacted(captured: Captured) -> None:
    """The app's log records reach the exporter with any JWT in their text replaced by the marker."""
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    logging.getLogger("shared.telemetry").warning("refused a caller holding %s", jwt)
    bodies = [str(r.log_record.body) for r in captured.logs.get_finished_logs()]
    assert "refused a caller holding [redacted]" in bodies
    assert all(jwt not in text for text in exported_text(captured))
