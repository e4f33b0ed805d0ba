"""What telemetry may carry: URLs lose their query string and user info; credential-shaped text is blanked."""

from __future__ import annotations

import pytest

from shared.telemetry._scrub import scrub, scrub_attributes, scrub_url


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
