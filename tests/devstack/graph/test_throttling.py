"""Graph's identity-and-access throttling model over HTTP: costs, headers, 429s, $batch, control."""

from __future__ import annotations

import time

import pytest
import requests

from devstack.graph.throttling import ThrottlingModel, request_cost, tenant_size
from devstack.offline_tenant import OfflineTenant
from tests.devstack.graph.support import app_token, bearer, error


def _throttle(http: requests.Session, base: str, **spec: object) -> dict[str, object]:
    response = http.put(f"{base}/_devstack/throttling", json=spec)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_model_is_on_by_default_and_sized_by_users(
    devstack: OfflineTenant, http: requests.Session, graph_base: str
) -> None:
    """GET /_devstack/throttling shows the model on, M-sized for the 250-user seed (5,000 RU / 10 s)."""
    assert http.get(f"{graph_base}/_devstack/throttling").json() == {
        "enabled": True,
        "tenantSize": "M",
        "resourceUnitsPer10s": 5000,
        "writesPer150s": 3000,
    }


def test_control_takes_any_subset_and_answers_the_model(http: requests.Session, graph_base: str) -> None:
    """PUT changes only the fields given and answers the model in force; bad fields get 400."""
    assert _throttle(http, graph_base, tenantSize="S")["resourceUnitsPer10s"] == 3500
    assert _throttle(http, graph_base, tenantSize="L")["resourceUnitsPer10s"] == 8000
    model = _throttle(http, graph_base, resourceUnitsPer10s=40)
    assert (model["tenantSize"], model["resourceUnitsPer10s"], model["enabled"]) == ("L", 40, True)
    assert _throttle(http, graph_base, enabled=False)["resourceUnitsPer10s"] == 40
    for bad in ({"tenantSize": "XL"}, {"enabled": "yes"}, {"resourceUnitsPer10s": 0}, {"colour": 1}):
        assert http.put(f"{graph_base}/_devstack/throttling", json=bad).status_code == 400
    assert http.put(f"{graph_base}/_devstack/throttling", data=b"[1").status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "args", "cost"),
    [
        ("GET", "/users", {}, 2),
        ("GET", "/users", {"$select": "id"}, 1),
        ("GET", "/users/abc", {}, 2),
        ("GET", "/groups/g/members", {}, 3),
        ("GET", "/groups/g/members", {"$select": "id", "$top": "5"}, 1),
        ("GET", "/groups/g/transitiveMembers", {}, 5),
        ("GET", "/groups", {"$expand": "members"}, 2),
        ("GET", "/organization", {"$select": "id"}, 1),
        ("GET", "/users", {"$top": "10"}, 1),
        ("GET", "/users", {"$top": "100"}, 2),
        ("POST", "/groups", {}, 1),
    ],
)
def test_request_costs(method: str, path: str, args: dict[str, str], cost: int) -> None:
    """Costs follow Microsoft's table (users 2, members 3, transitive 5, else 1) with the adjustments."""
    assert request_cost(method, path, args) == cost


def test_tenant_sizes() -> None:
    """Under 50 users is S, 50 to 500 is M, over 500 is L."""
    assert [tenant_size(n) for n in (0, 49, 50, 500, 501, 10_000)] == ["S", "S", "M", "M", "L", "L"]


def test_every_answer_carries_its_resource_units(
    api: requests.Session, graph: str, http: requests.Session
) -> None:
    """x-ms-resource-unit is on successes, errors and 401s; no limit percentage while under 80 %."""
    listed = api.get(f"{graph}/users")
    assert listed.headers["x-ms-resource-unit"] == "2"
    assert "x-ms-throttle-limit-percentage" not in listed.headers
    assert api.get(f"{graph}/users", params={"$select": "id"}).headers["x-ms-resource-unit"] == "1"
    assert api.get(f"{graph}/users/nobody").headers["x-ms-resource-unit"] == "2"
    assert http.get(f"{graph}/organization").headers["x-ms-resource-unit"] == "1"


def test_burst_is_throttled_and_retry_after_honoured_succeeds(
    devstack: OfflineTenant, api: requests.Session, graph: str, graph_base: str
) -> None:
    """Past the bucket: 429 TooManyRequests with Retry-After and throttle headers; waiting it out succeeds."""
    _throttle(api, graph_base, resourceUnitsPer10s=20)
    answers = [api.get(f"{graph}/users") for _ in range(10)]  # 2 RU each: the whole bucket
    assert [a.status_code for a in answers] == [200] * 10
    assert float(answers[-1].headers["x-ms-throttle-limit-percentage"]) > 0.8
    assert "x-ms-throttle-limit-percentage" not in answers[0].headers
    throttled = next(r for r in (api.get(f"{graph}/users") for _ in range(20)) if r.status_code == 429)
    assert error(throttled) == (429, "TooManyRequests", "Please retry again later.")
    retry_after = int(throttled.headers["Retry-After"])
    assert 1 <= retry_after <= 10
    app = devstack.tenant.app_by_name("entra-automation")
    assert app is not None
    assert throttled.headers["x-ms-throttle-scope"] == (
        f"Tenant_Application/ReadWrite/{app.app_id}/{devstack.tenant.tenant_id}"
    )
    assert throttled.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert throttled.headers["x-ms-resource-unit"] == "2"
    time.sleep(retry_after)
    assert api.get(f"{graph}/users").status_code == 200


def test_buckets_are_per_application(
    devstack: OfflineTenant, api: requests.Session, http: requests.Session, graph: str, graph_base: str
) -> None:
    """One app's empty bucket does not throttle another app of the same tenant."""
    _throttle(api, graph_base, resourceUnitsPer10s=4)
    assert [api.get(f"{graph}/organization").status_code for _ in range(5)][-1] == 429
    other = bearer(app_token(devstack, roles=["Organization.Read.All"], app="legacy-reporting"))
    assert http.get(f"{graph}/organization", headers=other).status_code == 200


def test_switched_off_never_throttles(api: requests.Session, graph: str, graph_base: str) -> None:
    """With enabled=false a burst far past the bucket is served, still with x-ms-resource-unit."""
    _throttle(api, graph_base, resourceUnitsPer10s=2, enabled=False)
    answers = [api.get(f"{graph}/organization") for _ in range(6)]
    assert {a.status_code for a in answers} == {200}
    assert answers[-1].headers["x-ms-resource-unit"] == "1"


def test_batch_items_are_throttled_one_by_one(api: requests.Session, graph: str, graph_base: str) -> None:
    """In a $batch, items past the bucket get their own 429 with Retry-After; earlier ones succeed."""
    _throttle(api, graph_base, resourceUnitsPer10s=5)
    batch = {"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(4)]}
    response = api.post(f"{graph}/$batch", json=batch)
    assert response.status_code == 200
    items = {r["id"]: r for r in response.json()["responses"]}
    assert [items[str(i)]["status"] for i in range(4)] == [200, 200, 429, 429]
    assert int(items["2"]["headers"]["Retry-After"]) >= 1
    assert items["2"]["body"]["error"]["code"] == "TooManyRequests"
    assert items["0"]["headers"]["x-ms-resource-unit"] == "2"
    assert response.headers["x-ms-resource-unit"] == "8"


def test_writes_have_their_own_bucket() -> None:
    """Writes past writesPer150s get 429 WriteLimitExceeded even with resource units to spare."""
    clock = [0.0]
    model = ThrottlingModel(lambda: 10, clock=lambda: clock[0])
    model.configure({"writesPer150s": 2})
    decisions = [model.charge("a", "t", "POST", "/groups", {}) for _ in range(3)]
    assert [d.throttled for d in decisions] == [False, False, True]
    assert decisions[2].information == "WriteLimitExceeded"
    assert decisions[2].scope == "Tenant_Application/Write/a/t"
    assert decisions[2].retry_after == 75  # one write back every 75 s
    assert not model.charge("a", "t", "GET", "/organization", {}).throttled
    clock[0] = 75.0
    assert not model.charge("a", "t", "PATCH", "/groups/x", {}).throttled


def test_refill_is_continuous() -> None:
    """The bucket refills at capacity per 10 s: after 1 s a 3,500-unit bucket holds 350 more units."""
    clock = [0.0]
    model = ThrottlingModel(lambda: 10, clock=lambda: clock[0])
    for _ in range(1750):
        assert not model.charge("a", "t", "GET", "/users", {}).throttled
    refused = model.charge("a", "t", "GET", "/users", {})
    assert refused.retry_after == 1
    clock[0] = 1.0
    served = [model.charge("a", "t", "GET", "/users", {}).throttled for _ in range(176)]
    assert served.count(False) == 175
