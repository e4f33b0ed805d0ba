"""/api/status with App Service authentication: the principal replaces the key only when the host says so."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import pytest

from devstack.azurite import Azurite
from devstack.offline_tenant import OfflineTenant
from shared.context._probe import reset_probe_cache
from shared.identity import reset_connections
from shared.status import status_response
from shared.storage import Account
from tests.app.context.support import sample_connections

ROOT = Path(__file__).resolve().parents[3]
KEY = "status-test-function-key-0123456789abcdef"
NAME_TYP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"


def _principal(name: str = "operator@contoso.example") -> str:
    doc = {
        "auth_typ": "aad",
        "claims": [
            {"typ": NAME_TYP, "val": name},
            {"typ": "tid", "val": "434b7530-0ab7-490d-b439-d97439cdf1c4"},
        ],
        "name_typ": NAME_TYP,
        "role_typ": "roles",
    }
    return base64.b64encode(json.dumps(doc).encode()).decode()


@pytest.fixture
def app_env(devstack: OfflineTenant, storage: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's environment as `make run` sets it, with App Service authentication on."""
    for name, value in {**devstack.app_settings(), **sample_connections()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    reset_connections()
    reset_probe_cache()
    yield
    reset_connections()
    reset_probe_cache()


def _get(headers: dict[str, str]) -> func.HttpResponse:
    req = func.HttpRequest("GET", "http://localhost/api/status", headers=headers, params={}, body=b"")
    return status_response(req)


def test_with_easy_auth_a_principal_gets_the_page(app_env: None) -> None:
    """Easy Auth on: a request carrying the platform's principal gets the HTML page."""
    response = _get({"X-MS-CLIENT-PRINCIPAL": _principal()})
    assert response.status_code == 200
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    "header", [None, "", "not-base64-json!", base64.b64encode(b'{"claims": []}').decode()]
)
def test_with_easy_auth_no_valid_principal_is_401(app_env: None, header: str | None) -> None:
    """Easy Auth on: no principal, or one that is not base64 JSON with claims, is 401 problem+json."""
    response = _get({} if header is None else {"X-MS-CLIENT-PRINCIPAL": header})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert json.loads(response.get_body())["type"].endswith("sign-in-required")


_HOST = (
    "import json, os, sys\n"
    "from pathlib import Path\n"
    "import requests\n"
    "from devstack.host import FunctionsHost, HostKeys\n"
    "host = FunctionsHost.load('function_app:app', root=Path('.'), environ=os.environ,\n"
    f"    keys=HostKeys(function_key={KEY!r}, master_key={KEY!r} + '-master'), port=0)\n"
    "host.start()\n"
    "session = requests.Session()\n"
    "session.trust_env = False\n"
    "cases = json.loads(sys.argv[1])\n"
    "print(json.dumps({name: session.get(host.base_url + '/status', headers=h, timeout=120).status_code\n"
    "                  for name, h in cases.items()}))\n"
    "host.stop()\n"
)


def _through_host(env: dict[str, str], cases: dict[str, dict[str, str]]) -> dict[str, int]:
    """GET /api/status through the local Functions host (function keys checked) for each case."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTIONS__", "WEBSITE_AUTH"))}
    out = subprocess.run(
        [sys.executable, "-c", _HOST, json.dumps(cases)],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def host_env(devstack: OfflineTenant, azurite: Azurite) -> dict[str, str]:
    """The app's settings for a host process: the offline tenant, the sample connections, Azurite."""
    return {
        **devstack.app_settings(),
        **sample_connections(),
        "AzureWebJobsStorage": azurite.connection_string,
    }


def test_without_easy_auth_the_principal_header_alone_is_401(host_env: dict[str, str]) -> None:
    """Setting off, through the host: the forgeable header alone is 401; the function key gets the page."""
    statuses = _through_host(
        host_env, {"header": {"X-MS-CLIENT-PRINCIPAL": _principal()}, "key": {"x-functions-key": KEY}}
    )
    assert statuses == {"header": 401, "key": 200}


def test_with_easy_auth_the_host_lets_the_principal_in_and_the_page_refuses_none(
    host_env: dict[str, str],
) -> None:
    """Setting on, through the host: a principal without a key gets 200; no principal gets 401."""
    statuses = _through_host(
        {**host_env, "WEBSITE_AUTH_ENABLED": "True"},
        {"principal": {"X-MS-CLIENT-PRINCIPAL": _principal()}, "nothing": {}},
    )
    assert statuses == {"principal": 200, "nothing": 401}
