"""The identity endpoint answers every client mistake in its `{"statusCode", "message"}` shape."""

from __future__ import annotations

import pytest
import requests

from devstack.offline_tenant import OfflineTenant


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/msi/other", 404),
        ("POST", "/msi/token", 404),
        ("GET", "/", 404),
        ("DELETE", "/msi/token", 404),
    ],
)
def test_unknown_routes_use_the_endpoint_shape(
    devstack: OfflineTenant, method: str, path: str, status: int
) -> None:
    """An unknown path or method is a 404 with statusCode and message, not another service's body."""
    with requests.Session() as s:
        s.trust_env = False
        response = s.request(method, f"{devstack.servers['identity'].url}{path}")
    assert response.status_code == status
    assert response.json() == {"statusCode": status, "message": "No route for this path."}


def test_wrong_header_is_not_echoed(devstack: OfflineTenant) -> None:
    """A wrong X-IDENTITY-HEADER is a 401 that does not repeat the value sent."""
    with requests.Session() as s:
        s.trust_env = False
        response = s.get(
            devstack.identity_endpoint,
            params={"api-version": "2019-08-01", "resource": "https://vault.azure.net"},
            headers={"X-IDENTITY-HEADER": "1dhdrSECRET-guess"},
        )
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401
    assert "1dhdrSECRET" not in response.text
