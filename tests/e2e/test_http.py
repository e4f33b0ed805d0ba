"""HTTP triggers through `devstack up`: routes, keys, methods, pass-through and the host's own errors."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.helpers import SAMPLE_ENV, StackProcess

pytestmark = pytest.mark.e2e

CONTRACT_KEYS = {
    "baseUrl",
    "functionKey",
    "caBundle",
    "tenantId",
    "identityEndpoint",
    "identityHeader",
    "managedIdentityClientId",
    "authorityHost",
    "keyVaultUrl",
    "graphUrl",
    "storageConnectionString",
    "app",
}


def _base(stack: StackProcess) -> str:
    return str(stack.state()["baseUrl"])


def _key(stack: StackProcess) -> str:
    return str(stack.state()["functionKey"])


def _assert_problem(response: requests.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_state_file_has_every_contract_key(sample_stack: StackProcess) -> None:
    """state.json holds all the keys docs/contract.md lists, with the base URL on loopback under /api."""
    state = sample_stack.state()
    assert set(state) >= CONTRACT_KEYS
    assert state["baseUrl"].startswith("http://127.0.0.1:")
    assert state["baseUrl"].endswith("/api")
    assert "QueueEndpoint=http://127.0.0.1:" in state["storageConnectionString"]


def test_health_is_anonymous(sample_stack: StackProcess) -> None:
    """An anonymous route answers without a key."""
    response = requests.get(f"{_base(sample_stack)}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_function_route_needs_a_key(sample_stack: StackProcess) -> None:
    """A function-level route is 401 without a key or with a wrong one, 2xx with it (header or ?code=)."""
    url = f"{_base(sample_stack)}/echo/alice"
    _assert_problem(requests.get(url, timeout=10), 401)
    _assert_problem(requests.get(url, headers={"x-functions-key": "wrong"}, timeout=10), 401)
    assert requests.get(url, headers={"x-functions-key": _key(sample_stack)}, timeout=10).status_code == 201
    assert requests.get(url, params={"code": _key(sample_stack)}, timeout=10).status_code == 201
    master = SAMPLE_ENV["DEVSTACK_MASTER_KEY"]
    assert requests.get(url, headers={"x-functions-key": master}, timeout=10).status_code == 201


def test_admin_route_needs_the_master_key(sample_stack: StackProcess) -> None:
    """An admin-level route refuses the function key and accepts the master key."""
    url = f"{_base(sample_stack)}/admin-only"
    _assert_problem(requests.get(url, headers={"x-functions-key": _key(sample_stack)}, timeout=10), 401)
    master = SAMPLE_ENV["DEVSTACK_MASTER_KEY"]
    assert requests.get(url, headers={"x-functions-key": master}, timeout=10).json() == {"admin": True}


def test_unknown_route_is_404_and_wrong_method_405(sample_stack: StackProcess) -> None:
    """No route: 404; a route without the method: 405 with Allow; both problem+json."""
    _assert_problem(requests.get(f"{_base(sample_stack)}/no/such/route", timeout=10), 404)
    response = requests.delete(f"{_base(sample_stack)}/echo/alice", timeout=10)
    _assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, POST"


def test_request_and_response_pass_through(sample_stack: StackProcess) -> None:
    """Route values (typed, optional), query, headers and body go in; status and headers come back."""
    response = requests.post(
        f"{_base(sample_stack)}/echo/alice/42",
        params={"q": "1"},
        headers={"x-functions-key": _key(sample_stack), "x-test": "hello"},
        data=b"payload",
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["x-echo"] == "yes"
    body = response.json()
    assert body["routeParams"] == {"name": "alice", "id": "42"}
    assert body["params"] == {"q": "1"}
    assert body["header"] == "hello"
    assert body["body"] == "payload"
    assert body["method"] == "POST"
    # {id:int?} does not match text.
    not_int = requests.get(
        f"{_base(sample_stack)}/echo/alice/abc", params={"code": _key(sample_stack)}, timeout=10
    )
    _assert_problem(not_int, 404)


def test_catch_all_route_returns_plain_text(sample_stack: StackProcess) -> None:
    """`{*rest}` spans segments; a returned str is text/plain."""
    response = requests.get(f"{_base(sample_stack)}/files/a/b/c.txt", timeout=10)
    assert response.status_code == 200
    assert response.text == "a/b/c.txt"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_unhandled_exception_is_500_without_details(sample_stack: StackProcess) -> None:
    """A failing function answers 500 problem+json; the exception text stays in the host log."""
    response = requests.get(f"{_base(sample_stack)}/boom", timeout=10)
    _assert_problem(response, 500)
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "internal detail that must not leak" in sample_stack.log_text()


def test_body_over_the_limit_is_413(sample_stack: StackProcess) -> None:
    """A body above FUNCTIONS_REQUEST_BODY_SIZE_LIMIT is refused before the function runs."""
    response = requests.post(
        f"{_base(sample_stack)}/echo/alice",
        headers={"x-functions-key": _key(sample_stack)},
        data=b"x" * 5000,
        timeout=10,
    )
    _assert_problem(response, 413)


def test_keys_never_reach_the_log(sample_stack: StackProcess) -> None:
    """A key sent as ?code= does not appear in the host log."""
    requests.get(f"{_base(sample_stack)}/echo/bob", params={"code": _key(sample_stack)}, timeout=10)
    assert _key(sample_stack) not in sample_stack.log_text()
    assert SAMPLE_ENV["DEVSTACK_MASTER_KEY"] not in sample_stack.log_text()
