"""A test app for the local host's e2e tests: every trigger kind the host supports, nothing real.

Served with `python -m devstack up --app tests.e2e.sample_app:app`; state is kept in memory and
read back over HTTP, so the tests see what the host did.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

_lock = threading.Lock()
_events: dict[str, list[dict[str, Any]]] = {"ticks": [], "messages": []}
_running_ticks = 0


def _json(value: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Anonymous liveness."""
    return _json({"status": "ok"})


@app.route(route="echo/{name}/{id:int?}", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Function key; echoes what the host passed in, with a custom status and header."""
    body = {
        "method": req.method,
        "routeParams": dict(req.route_params),
        "params": dict(req.params),
        "header": req.headers.get("x-test"),
        "body": req.get_body().decode("utf-8"),
    }
    return func.HttpResponse(
        json.dumps(body), status_code=201, headers={"x-echo": "yes"}, mimetype="application/json"
    )


@app.route(route="files/{*rest}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def files(req: func.HttpRequest) -> str:
    """A catch-all route that returns plain text."""
    return str(req.route_params.get("rest", ""))


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    """Needs the master key."""
    return _json({"admin": True})


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    """Fails with a secret in the message: it must stay in the host log."""
    raise RuntimeError("internal detail that must not leak")


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    """Counts its runs and whether two ever overlapped (they must not); each run is slow."""
    global _running_ticks
    with _lock:
        _running_ticks += 1
        overlapped = _running_ticks > 1
    time.sleep(0.3)
    with _lock:
        _running_ticks -= 1
        _events["ticks"].append({"pastDue": timer.past_due, "overlapped": overlapped, "at": time.time()})


@app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="done", queue_name="work-done", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage, done: func.Out[str]) -> None:
    """Records each message; a body of "fail" always raises (so it ends in the poison queue)."""
    body = msg.get_body().decode("utf-8")
    with _lock:
        _events["messages"].append({"id": msg.id, "body": body, "dequeueCount": msg.dequeue_count})
    if body == "fail":
        raise ValueError("this message always fails")
    done.set(f"done:{body}")


@app.route(route="enqueue", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    """Sends the request body to the work queue through an output binding."""
    out.set(req.get_body().decode("utf-8"))
    return func.HttpResponse(status_code=202)


@app.route(route="events/{kind}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def events(req: func.HttpRequest) -> func.HttpResponse:
    """What the timer and queue functions recorded (async, as the worker allows)."""
    with _lock:
        return _json(_events.get(req.route_params["kind"], []))
