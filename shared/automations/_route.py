"""`POST /api/automations/{name}`: authenticate, authorize, validate the input, run, audit.

    401  no or bad token; `WWW-Authenticate: Bearer` says why (never echoing the token)
    403  authenticated, but a required role or scope is missing (named in the body)
    400  the body is not JSON or breaks the automation's input schema (every error listed)
    404  no such automation, or the user/group the input names does not exist
    200  `{"automation", "runId", "result"}`; 202 + `Location` for long-running ones
Authentication comes before input validation: an anonymous caller learns nothing about inputs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

import azure.functions as func

from shared import telemetry
from shared.auth import Caller, CallerKind, InvalidTokenError
from shared.automations import _audit
from shared.automations._declarations import Automation, RunAs, declared, find
from shared.automations._errors import (
    AutomationNotFoundError,
    ForbiddenError,
    InputInvalidError,
    TargetNotFoundError,
)
from shared.automations._invocation import Invocation
from shared.errors import AutomationError
from shared.problems import TYPE_PREFIX, Problem, instance_of, problem_for

log = logging.getLogger(__name__)

MAX_ERRORS = 20
_validators: dict[str, Any] = {}


def authorize(automation: Automation, caller: Caller) -> None:
    """ForbiddenError naming what is missing, unless the caller may run the automation."""
    if caller.kind is CallerKind.APP:
        if automation.run_as is RunAs.CALLER:
            raise ForbiddenError(
                f"'{automation.name}' acts on behalf of a signed-in user; an app-only token cannot call it.",
                missing_scopes=sorted(automation.scopes),
            )
        if not automation.roles & caller.roles:
            raise ForbiddenError(
                f"'{automation.name}' needs one of the app roles {sorted(automation.roles)}; the calling app "
                "has none of them (assign one to its service principal).",
                missing_roles=sorted(automation.roles),
            )
        return
    if automation.scopes and not automation.scopes & caller.scopes:
        raise ForbiddenError(
            f"'{automation.name}' needs one of the delegated scopes {sorted(automation.scopes)}.",
            missing_scopes=sorted(automation.scopes),
        )
    if automation.roles and not automation.roles & caller.roles:
        raise ForbiddenError(
            f"'{automation.name}' needs one of the app roles {sorted(automation.roles)}, assigned to the "
            "user (or a group of theirs) on the API's enterprise application.",
            missing_roles=sorted(automation.roles),
        )


def _validator(automation: Automation) -> Any:
    found = _validators.get(automation.name)
    if found is None:
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(automation.input_schema)
        found = Draft202012Validator(
            automation.input_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        _validators[automation.name] = found
    return found


def validate_input(automation: Automation, body: bytes) -> Mapping[str, Any]:
    """The parsed input; InputInvalidError listing every schema error (path and message)."""
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputInvalidError(
            "The request body is not JSON.", [{"path": "", "message": "The body must be a JSON object."}]
        ) from exc
    errors = sorted(_validator(automation).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        listed = [
            {
                "path": "/" + "/".join(str(p) for p in e.absolute_path),
                "message": str(e.message)[:300],
            }
            for e in errors[:MAX_ERRORS]
        ]
        raise InputInvalidError(f"The input does not match the schema of '{automation.name}'.", listed)
    if not isinstance(value, dict):  # every input schema is an object
        raise InputInvalidError(
            "The input must be a JSON object.", [{"path": "/", "message": "not an object"}]
        )
    return value


def _challenge(reason: str | None, client_id: str | None, *, scope: str | None = None) -> str:
    parts = ['Bearer realm="automations"']
    if client_id:
        parts.append(f'resource_id="api://{client_id}"')
    if scope is not None:
        parts.append('error="insufficient_scope"')
        if scope:
            parts.append(f'scope="{scope}"')
    elif reason is not None:
        parts.append('error="invalid_token"')
        parts.append(f'error_description="{reason}"')
    return ", ".join(parts)


def _problem(status: int, slug: str, title: str, detail: str, instance: str, **extensions: Any) -> Problem:
    headers = extensions.pop("headers", {})
    return Problem(status, title, detail, TYPE_PREFIX + slug, instance, extensions, headers)


def _not_found(exc: AutomationNotFoundError, instance: str) -> Problem:
    return _problem(
        404, "automation-not-found", "No such automation", exc.message, instance, automations=exc.known
    )


def _unauthenticated(exc: InvalidTokenError, client_id: str | None, instance: str) -> Problem:
    """401 with the Bearer challenge, or 503 when the signing keys could not be read."""
    if exc.outage:
        return _problem(
            503,
            "keys-unavailable",
            "Token validation unavailable",
            exc.reason,
            instance,
            headers={"Retry-After": "5"},
        )
    return _problem(
        401,
        "invalid-token",
        "Unauthorized",
        exc.reason,
        instance,
        headers={"WWW-Authenticate": _challenge(exc.reason, client_id)},
    )


def _forbidden(exc: ForbiddenError, client_id: str | None, instance: str) -> Problem:
    """403 naming the missing roles and scopes, with the `insufficient_scope` challenge."""
    return _problem(
        403,
        "forbidden",
        "Forbidden",
        exc.message,
        instance,
        missingRoles=exc.missing_roles or None,
        missingScopes=exc.missing_scopes or None,
        headers={"WWW-Authenticate": _challenge(None, client_id, scope=" ".join(exc.missing_scopes))},
    )


def handle(req: func.HttpRequest) -> func.HttpResponse:
    """The route's whole answer; every failure is problem+json with the right status."""
    from shared.automations._settings import current

    started = time.perf_counter()
    name = str(req.route_params.get("name", ""))
    instance = instance_of(req)
    caller: Caller | None = None
    digest: str | None = None
    run: Any = None

    def audit(status: int, ok: bool, reason: str | None = None, *, code: str | None = None) -> None:
        if run is None:  # no such automation: nothing ran, nothing to record
            return
        span.set(http_status_code=status, run_status="succeeded" if ok else "failed")
        if not ok:
            span.failed(None)
            span.set(error_type=code or str(status))
        _audit.finish(
            run,
            ok=ok,
            http_status=status,
            duration_ms=int((time.perf_counter() - started) * 1000),
            caller=caller,
            digest=digest,
            reason=reason,
            code=code,
            queued=status == 202,
        )

    client_id: str | None = None
    spans = ExitStack()  # the call's trace (docs/telemetry.md): from the run's creation to the answer
    span = telemetry.NO_SPAN
    try:
        automation = find(name)
        if automation is None:
            raise AutomationNotFoundError(name, [a.name for a in declared()])
        run = _audit.start(name)
        run_id = run.id
        settings = current()
        span = spans.enter_context(telemetry.run_span(run, connection=settings.connection, server=True))
        client_id = settings.client_id
        from shared.automations._callers import authenticate

        who = authenticate(req.headers, settings)
        caller = who.caller
        authorize(automation, caller)
        body = req.get_body() or b""
        value = validate_input(automation, body)
        digest = _audit.input_digest(value)
        invocation = Invocation(
            name=name,
            input=value,
            caller=caller,
            settings=settings,
            run_id=run_id,
            user_token=who.token if automation.run_as is RunAs.CALLER else None,
        )
        if automation.long_running:
            from shared.automations._runs import enqueue

            audit(202, True)  # recorded as queued before the message exists
            location = enqueue(invocation)
            body_out = {"automation": name, "runId": run_id, "status": "queued", "location": location}
            return func.HttpResponse(
                json.dumps(body_out),
                status_code=202,
                mimetype="application/json",
                headers={"Location": location},
            )
        result = automation.handler(invocation)
        audit(200, True)
        return func.HttpResponse(
            json.dumps({"automation": name, "runId": run_id, "result": dict(result)}),
            status_code=200,
            mimetype="application/json",
        )
    except AutomationNotFoundError as exc:
        return _not_found(exc, instance).to_response()
    except InvalidTokenError as exc:
        problem = _unauthenticated(exc, client_id, instance)
        audit(problem.status, False, exc.reason, code="keys-unavailable" if exc.outage else "invalid_token")
        return problem.to_response()
    except ForbiddenError as exc:
        audit(403, False, exc.message, code="insufficient_scope")
        return _forbidden(exc, client_id, instance).to_response()
    except InputInvalidError as exc:
        audit(400, False, exc.message, code="invalid_input")
        return _problem(
            400, "invalid-input", "Invalid input", exc.message, instance, errors=exc.errors
        ).to_response()
    except TargetNotFoundError as exc:
        audit(404, False, exc.message, code="target_not_found")
        return _problem(404, "target-not-found", "Not found", exc.message, instance).to_response()
    except AutomationError as exc:
        problem = problem_for(exc, instance=instance)
        audit(problem.status, False, exc.message, code=exc.code)
        return problem.to_response()
    except Exception as exc:  # noqa: BLE001 - the route's boundary: a bug, logged, answered 500
        audit(500, False, type(exc).__name__)
        return problem_for(exc, instance=instance).to_response()
    finally:
        spans.close()


def run_status(req: func.HttpRequest) -> func.HttpResponse:
    """`GET /api/automations/{name}/runs/{runId}`: a queued run's state, for its caller only."""
    from shared.automations._callers import authenticate
    from shared.automations._settings import current
    from shared.runs import Kind, ledger

    name = str(req.route_params.get("name", ""))
    run_id = str(req.route_params.get("runId", ""))
    instance = instance_of(req)
    client_id: str | None = None
    try:
        automation = find(name)
        if automation is None:
            raise AutomationNotFoundError(name, [a.name for a in declared()])
        settings = current()
        client_id = settings.client_id
        caller = authenticate(req.headers, settings).caller
        authorize(automation, caller)
        found = ledger().get(Kind.AUTOMATION, name, run_id)
        if found is None or found.detail.get("callerOid") != caller.object_id:
            # Someone else's run looks the same as no run.
            return _problem(
                404, "run-not-found", "Not found", f"No run '{run_id}' of '{name}'.", instance
            ).to_response()
        output = ledger().read_output(found)
        body = {
            "automation": name,
            "runId": run_id,
            "status": found.status.value,
            "created": found.created.isoformat(),
            "finished": found.finished.isoformat() if found.finished else None,
            "result": json.loads(output) if output else None,
            "error": found.error.message if found.error else None,
        }
        return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
    except AutomationNotFoundError as exc:
        return _not_found(exc, instance).to_response()
    except InvalidTokenError as exc:
        return _unauthenticated(exc, client_id, instance).to_response()
    except ForbiddenError as exc:
        return _forbidden(exc, client_id, instance).to_response()
    except Exception as exc:  # noqa: BLE001 - the route's boundary
        return problem_for(exc, instance=instance).to_response()
