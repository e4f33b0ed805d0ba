"""problem+json responses (RFC 9457) and the map from the app's errors to HTTP statuses."""

from __future__ import annotations

import inspect
import json
import logging

import azure.functions as func
import pytest

import shared.errors as errors
from shared.problems import PROBLEM_JSON, TYPE_PREFIX, Problem, problem_for, problem_response, respond

_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"


def _body(resp: func.HttpResponse) -> dict[str, object]:
    body: dict[str, object] = json.loads(resp.get_body())
    return body


def _request(url: str = "http://localhost/api/context?code=function-key-value") -> func.HttpRequest:
    return func.HttpRequest("GET", url, headers={}, params={}, body=b"")


def test_problem_response_has_the_standard_members() -> None:
    """A problem has type, title, status, detail, instance and extensions, as problem+json."""
    resp = problem_response(
        404, "No connection 'x'.", slug="unknown-connection", instance="/api/context", connections=["a", "b"]
    )
    assert resp.status_code == 404
    assert resp.mimetype == PROBLEM_JSON
    assert _body(resp) == {
        "type": TYPE_PREFIX + "unknown-connection",
        "title": "Not Found",
        "status": 404,
        "detail": "No connection 'x'.",
        "instance": "/api/context",
        "connections": ["a", "b"],
    }


def test_problem_without_slug_is_about_blank() -> None:
    """Without a problem type the type is about:blank and the title the HTTP phrase."""
    body = _body(problem_response(405))
    assert body == {"type": "about:blank", "title": "Method Not Allowed", "status": 405}


def test_extensions_cannot_override_standard_members() -> None:
    """An extension named like a standard member is ignored."""
    body = Problem(400, "Bad Request", extensions={"status": 200, "type": "x"}).to_dict()
    assert body["status"] == 400
    assert body["type"] == "about:blank"


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.IdentityUnavailableError("endpoint down", step="identity-endpoint", status=500), 503),
        (errors.AuthenticationFailedError("refused", step="entra", status=401, code="AADSTS700027"), 502),
        (errors.CredentialError("no token"), 502),
        (errors.KeyVaultError("not found", status=404, code="SecretNotFound"), 502),
        (errors.CertificateError("expired"), 502),
        (errors.CertificatePendingError("the CA has not issued it yet", issuer="corp-ca"), 503),
        (errors.UpstreamError("graph said no", step="graph", status=403), 502),
        (errors.ConfigurationError("CONNECTIONS__X__CREDENTIAL is missing"), 503),
    ],
)
def test_app_errors_map_to_gateway_or_unavailable(exc: errors.AutomationError, status: int) -> None:
    """Outages and misconfiguration are 503, refusals by other services 502, never 500."""
    problem = problem_for(exc, instance="/api/x")
    assert problem.status == status
    assert problem.to_dict()["detail"] == str(exc)
    assert problem.type.startswith(TYPE_PREFIX)


def test_every_error_class_is_mapped() -> None:
    """Each AutomationError subclass in shared.errors maps to a status other than 500."""
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.AutomationError)
    ]
    subclasses = [c for c in classes if c is not errors.AutomationError]
    unmapped = [c.__name__ for c in subclasses if problem_for(c("m")).status == 500]
    assert unmapped == []


def test_error_facts_become_extensions() -> None:
    """step, status, code and hint of an error are extension members."""
    exc = errors.AuthenticationFailedError(
        "Entra refused the certificate.", step="entra", status=401, code="AADSTS700027", hint="upload it"
    )
    body = problem_for(exc).to_dict()
    assert body["step"] == "entra"
    assert body["upstreamStatus"] == 401
    assert body["code"] == "AADSTS700027"
    assert body["hint"] == "upload it"


def test_outage_carries_retry_after_when_known() -> None:
    """A 503 for an outage with a known retry delay sends Retry-After."""
    exc = errors.IdentityUnavailableError("throttled", status=429)
    exc.retry_after = 2.4  # type: ignore[attr-defined]
    assert problem_for(exc).to_response().headers["Retry-After"] == "2"


def test_unexpected_error_is_a_generic_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    """A foreign exception becomes a 500 whose body has none of its text; the log has it."""
    secret_text = "password=hunter2 " + _JWT
    with caplog.at_level(logging.ERROR, logger="shared.problems"):
        resp = respond(_request(), lambda: (_ for _ in ()).throw(RuntimeError(secret_text)))
    assert resp.status_code == 500
    raw = resp.get_body().decode()
    assert "hunter2" not in raw
    assert _JWT not in raw
    assert "Traceback" not in raw
    assert any(r.exc_info for r in caplog.records)


def test_instance_never_carries_the_query_string() -> None:
    """The instance member is the path only: the query may hold the function key."""
    resp = respond(_request(), lambda: (_ for _ in ()).throw(errors.ConfigurationError("bad setting")))
    body = _body(resp)
    assert body["instance"] == "/api/context"
    assert "function-key-value" not in resp.get_body().decode()


def test_detail_is_redacted() -> None:
    """A token that slipped into one of our messages is blanked out of the detail."""
    body = problem_for(errors.UpstreamError(f"server echoed {_JWT}")).to_dict()
    assert _JWT not in str(body["detail"])
    assert "[redacted]" in str(body["detail"])


def test_respond_passes_a_response_through() -> None:
    """respond() returns the handler's own response when nothing fails."""
    ok = func.HttpResponse("{}", status_code=200, mimetype="application/json")
    assert respond(_request(), lambda: ok) is ok
