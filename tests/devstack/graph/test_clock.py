"""The movable credential clock: moved forward, registered credentials expire for every emulator."""

from __future__ import annotations

import msal
import requests

from devstack.offline_tenant import OfflineTenant
from tests.conftest import tls_session

YEAR_AND_A_DAY_S = 366 * 86400


def _token_with_secret(devstack: OfflineTenant) -> dict[str, object]:
    state = devstack.state()
    secret = devstack.tenant.vault.latest_secret(state["app"]["secretName"])
    assert secret is not None
    with tls_session(state["caBundle"]) as session:
        client = msal.ConfidentialClientApplication(
            state["app"]["clientId"],
            client_credential=secret.value,
            authority=f"{state['authorityHost']}/{state['tenantId']}",
            instance_discovery=False,
            http_client=session,
        )
        result: dict[str, object] = client.acquire_token_for_client(
            scopes=["https://graph.microsoft.com/.default"]
        )
    return result


def test_moving_the_clock_expires_the_seeded_secret(
    devstack: OfflineTenant, http: requests.Session, graph_base: str
) -> None:
    """A year and a day ahead, the app's one-year secret is refused by Entra (7000215); back at 0 it works."""
    assert "access_token" in _token_with_secret(devstack)
    moved = http.put(f"{graph_base}/_devstack/clock", json={"advanceSeconds": YEAR_AND_A_DAY_S}).json()
    assert moved["offsetSeconds"] == YEAR_AND_A_DAY_S
    refused = _token_with_secret(devstack)
    assert refused.get("error") == "invalid_client"
    assert 7000215 in refused["error_codes"]  # type: ignore[operator]
    assert http.put(f"{graph_base}/_devstack/clock", json={"offsetSeconds": 0}).json()["offsetSeconds"] == 0
    assert "access_token" in _token_with_secret(devstack)


def test_moved_clock_shows_in_graph(devstack: OfflineTenant, http: requests.Session, graph_base: str) -> None:
    """GET /_devstack/clock reports the offset and the moved now; bad moves are 400."""
    http.put(f"{graph_base}/_devstack/clock", json={"offsetSeconds": 30 * 86400})
    body = http.get(f"{graph_base}/_devstack/clock").json()
    assert body["offsetSeconds"] == 30 * 86400
    assert body["now"] > "2000"
    for bad in (
        {"offsetSeconds": -1},
        {"advanceSeconds": "x"},
        {},
        {"offsetSeconds": 1, "advanceSeconds": 1},
    ):
        assert http.put(f"{graph_base}/_devstack/clock", json=bad).status_code == 400
