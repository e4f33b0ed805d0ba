"""The host's HTTP side against real azure.functions objects, through werkzeug's test client."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from werkzeug.test import Client

from devstack.host.auth import HostKeys, auth_level_name
from devstack.host.errors import HostStartupError
from devstack.host.http_app import HttpApp
from devstack.host.indexing import IndexedFunction, index_app
from devstack.host.invocation import Invoker, Result

KEYS = HostKeys(function_key="fkey", master_key="mkey")


def _app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def open_route(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("open")

    @app.route(route="users/{id:int}", methods=["GET", "PUT"])
    def user(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        body = {
            "id": req.route_params["id"],
            "method": req.method,
            "body": req.get_body().decode(),
            "q": req.params.get("q"),
            "ua": req.headers.get("user-agent"),
            "function": context.function_name,
        }
        return func.HttpResponse(
            json.dumps(body), status_code=299, headers={"X-Custom": "1"}, mimetype="application/json"
        )

    @app.route(route="admin-op", auth_level=func.AuthLevel.ADMIN)
    def admin_op(req: func.HttpRequest) -> str:
        return "admin"

    @app.route(route="fail", auth_level=func.AuthLevel.ANONYMOUS)
    def fail(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("secret detail")

    @app.route(route="nothing", auth_level=func.AuthLevel.ANONYMOUS)
    async def nothing(req: func.HttpRequest) -> None:
        return None

    @app.route(route="send", auth_level=func.AuthLevel.ANONYMOUS)
    @app.queue_output(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
    def send(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
        msg.set("queued")
        return func.HttpResponse(status_code=202)

    return app


@pytest.fixture
def sent() -> list[tuple[str, Any]]:
    return []


@pytest.fixture
def client(tmp_path: Path, sent: list[tuple[str, Any]]) -> Client:
    invoker = Invoker(tmp_path)

    def send_outputs(function: IndexedFunction, result: Result) -> None:
        sent.extend((b.name, result.output(b.name)) for b in function.outputs if b.type == "queue")

    app = HttpApp(
        index_app(_app()),
        route_prefix="api",
        keys=KEYS,
        invoker=invoker,
        body_limit=16,
        send_outputs=send_outputs,
    )
    return Client(app)


def test_anonymous_route(client: Client) -> None:
    """No key needed; a plain HttpResponse is text/plain with charset."""
    response = client.get("/api/open")
    assert response.status_code == 200
    assert response.get_data() == b"open"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_route_literals_ignore_case(client: Client) -> None:
    """`/API/Open` reaches the `open` function, as on the Azure Functions host."""
    response = client.get("/API/Open")
    assert response.status_code == 200
    assert response.get_data() == b"open"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({}, 401),
        ({"headers": {"x-functions-key": "nope"}}, 401),
        ({"headers": {"x-functions-key": "fkey"}}, 299),
        ({"query_string": {"code": "fkey"}}, 299),
        ({"headers": {"x-functions-key": "mkey"}}, 299),
    ],
)
def test_function_key_header_or_code(client: Client, kwargs: dict[str, Any], status: int) -> None:
    """Function level: the function or master key, as header or ?code=."""
    assert client.get("/api/users/1", **kwargs).status_code == status


def test_admin_level_needs_master_key(client: Client) -> None:
    """Admin level: the function key is not enough."""
    assert client.get("/api/admin-op", headers={"x-functions-key": "fkey"}).status_code == 401
    assert client.get("/api/admin-op", headers={"x-functions-key": "mkey"}).get_data() == b"admin"


def test_request_and_response_pass_through(client: Client) -> None:
    """Route values, query, headers, body in; custom status, headers, content type out; context given."""
    response = client.put(
        "/api/users/42?q=x", data=b"hi", headers={"x-functions-key": "fkey", "User-Agent": "test-agent"}
    )
    assert response.status_code == 299
    assert response.headers["X-Custom"] == "1"
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json() == {
        "id": "42",
        "method": "PUT",
        "body": "hi",
        "q": "x",
        "ua": "test-agent",
        "function": "user",
    }


def test_host_errors_are_problem_json(client: Client) -> None:
    """404, 405 (with Allow) and 413 come from the host as problem+json."""
    not_found = client.get("/api/nope")
    assert not_found.status_code == 404
    assert not_found.headers["Content-Type"] == "application/problem+json"
    assert not_found.get_json()["title"] == "Not Found"
    wrong_method = client.delete("/api/users/1", headers={"x-functions-key": "fkey"})
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET, PUT"
    too_big = client.put("/api/users/1", data=b"x" * 17, headers={"x-functions-key": "fkey"})
    assert too_big.status_code == 413
    assert too_big.headers["Content-Type"] == "application/problem+json"


def test_unhandled_exception_is_logged_not_sent(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    """500 problem+json without the message; the traceback goes to the log."""
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/fail")
    assert response.status_code == 500
    assert b"secret detail" not in response.get_data()
    assert "secret detail" in caplog.text


def test_async_function_returning_none(client: Client) -> None:
    """An async function runs on the event loop; returning None is 204."""
    assert client.get("/api/nothing").status_code == 204


def test_queue_output_value_is_handed_on(client: Client, sent: list[tuple[str, Any]]) -> None:
    """An Out parameter's value reaches the output sink after the run."""
    assert client.get("/api/send").status_code == 202
    assert sent == [("msg", "queued")]


def test_admin_status_needs_master_key(client: Client) -> None:
    """/admin/host/status answers Running with the master key only."""
    assert client.get("/admin/host/status", headers={"x-functions-key": "fkey"}).status_code == 401
    assert (
        client.get("/admin/host/status", headers={"x-functions-key": "mkey"}).get_json()["state"] == "Running"
    )


def test_auth_level_names() -> None:
    """Enum members, strings and the app default (None) all map to a level name."""
    assert auth_level_name(func.AuthLevel.ANONYMOUS) == "anonymous"
    assert auth_level_name("ADMIN") == "admin"
    assert auth_level_name(None) == "function"


def test_keys_from_environment_or_random() -> None:
    """Keys come from the environment when given, otherwise random per start."""
    given = HostKeys.generate({"DEVSTACK_FUNCTION_KEY": "f", "DEVSTACK_MASTER_KEY": "m"})
    assert given == HostKeys("f", "m")
    first, second = HostKeys.generate({}), HostKeys.generate({})
    assert first.function_key != second.function_key
    assert len(first.master_key) >= 32


def test_parameter_without_binding_fails_indexing() -> None:
    """A parameter the bindings do not declare stops the start, as the worker refuses the function."""
    app = func.FunctionApp()

    @app.route(route="x")
    def x(req: func.HttpRequest, extra: str) -> str:
        return "x"

    with pytest.raises(HostStartupError, match="extra"):
        index_app(app)


def test_unsupported_binding_fails_indexing() -> None:
    """A blob output is not supported locally and says so."""
    app = func.FunctionApp()

    @app.route(route="x")
    @app.blob_output(arg_name="out", path="c/b", connection="AzureWebJobsStorage")
    def x(req: func.HttpRequest, out: func.Out[str]) -> str:
        return "x"

    with pytest.raises(HostStartupError, match="not supported"):
        index_app(app)
