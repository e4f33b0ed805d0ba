"""The three receivers: decode, answer the sender's handshake, check authenticity, store, then 2xx.

Each returns an `HttpResponse`; a `Refused` becomes problem+json with its status. Only a
durable enqueue (`_inbox.store_durably`) earns a 2xx; a storage failure is 503 so the sender
retries. The Graph validation handshake does no other work: no Key Vault, no storage, no
token check (Graph gives it 10 seconds and the URL is not yet trusted).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func

from shared import telemetry
from shared.problems import instance_of, problem_response
from shared.webhooks import _eventgrid, _graph, _signatures
from shared.webhooks._inbox import InboxEvent, envelope, store_durably
from shared.webhooks._refusal import Refused
from shared.webhooks._registry import EVENTGRID, GRAPH, signed_scheme
from shared.webhooks._settings import valid_source, webhook_settings

logger = logging.getLogger(__name__)


def _refusal_response(
    req: func.HttpRequest, refused: Refused, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    return problem_response(
        refused.http_status,
        refused.message,
        slug=refused.slug,
        instance=instance_of(req),
        headers={**({"Retry-After": "5"} if refused.http_status == 503 else {}), **(headers or {})},
        hint=refused.hint,
    )


def guarded(req: func.HttpRequest, build: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    """Run a receiver; a refusal is its problem response, a configuration error 503, a bug a logged 500."""
    response = _guarded(req, build)
    _count_answer(req, response.status_code)
    return response


def _count_answer(req: func.HttpRequest, status: int) -> None:
    """The `webhook.acks` metric (docs/telemetry.md): receiver, source (when known) and status."""
    receiver = str(req.url).split("/webhooks/", 1)[-1].split("?", 1)[0].split("/", 1)[0] or "unknown"
    # The signed source comes from the URL: only a known (accepted) one becomes an attribute value.
    source = str(req.route_params.get("source") or receiver) if status < 400 else "unknown"
    telemetry.webhook_ack(receiver, source, status)


def _guarded(req: func.HttpRequest, build: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    from shared.errors import ConfigurationError, KeyVaultError, StorageError
    from shared.problems import problem_for

    try:
        return build()
    except Refused as refused:
        if refused.http_status >= 500:
            logger.warning("webhook %s refused %d: %s", instance_of(req), refused.http_status, refused.slug)
        return _refusal_response(req, refused)
    except (ConfigurationError, KeyVaultError, StorageError) as exc:
        # Our side cannot check or store now: 503 so the sender retries later.
        logger.warning("webhook %s cannot be served: %s", instance_of(req), type(exc).__name__)
        problem = problem_for(exc, instance=instance_of(req))
        return problem_response(
            503,
            problem.detail,
            slug="webhook-unavailable",
            instance=instance_of(req),
            headers={"Retry-After": "5"},
        )
    except Exception as exc:  # noqa: BLE001 - the route boundary: a bug is a generic 500, logged
        return problem_for(exc, instance=instance_of(req)).to_response()


def _body(req: func.HttpRequest) -> bytes:
    body = req.get_body() or b""
    limit = webhook_settings().max_body_bytes
    if len(body) > limit:
        raise Refused(
            413, "webhook-too-large", f"The body is larger than {limit} bytes (WEBHOOKS_MAX_BODY_BYTES)."
        )
    return body


def _accepted(status: int, stored: int, message_id: str) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"stored": stored, "message": message_id}), status_code=status, mimetype="application/json"
    )


# -- Graph --------------------------------------------------------------------------------


def graph(req: func.HttpRequest) -> func.HttpResponse:
    """POST /api/webhooks/graph: the validation handshake, or a batch of (rich, lifecycle) notifications."""
    return guarded(req, lambda: _graph_post(req))


def _graph_post(req: func.HttpRequest) -> func.HttpResponse:
    token = _graph.validation_token(req.params)
    if token is not None:
        # The handshake: the decoded token as text/plain, and nothing else (no I/O at all).
        return func.HttpResponse(
            token, status_code=200, mimetype="text/plain", headers={"X-Content-Type-Options": "nosniff"}
        )
    batch = _graph.parse_batch(_body(req))
    from shared.webhooks._secrets import secrets

    settings = webhook_settings()
    name = settings.graph_client_state_secret
    try:
        _graph.check_client_states(batch, secrets().values(name))
    except Refused as refused:
        if refused.http_status != 401:
            raise
        # Perhaps a new version of the secret: read it again (at most once a minute) and retry.
        _graph.check_client_states(batch, secrets().values(name, fresh=True))
    if batch.rich or batch.validation_tokens:
        _check_validation_tokens(batch)
    events = [
        InboxEvent(
            id=_graph.event_id(n),
            type=str(n.get("lifecycleEvent") or n.get("changeType")),
            subject=str(n.get("resource")) if n.get("resource") is not None else None,
            payload=_graph.stored_form(n),
        )
        for n in batch.notifications
    ]
    message_id = store_durably(envelope(GRAPH, GRAPH, events))
    return _accepted(202, len(events), message_id)


def _check_validation_tokens(batch: _graph.GraphBatch) -> None:
    from shared.auth import V1, InvalidTokenError, KeysUnavailableError, signing_keys
    from shared.config import get_settings
    from shared.webhooks._rich import verify_validation_tokens

    app_ids, tenant_ids = _graph_app()
    notified = {str(n.get("tenantId") or "").lower() for n in batch.notifications} - {""}
    if notified - tenant_ids:
        raise Refused(
            401, "webhook-unauthenticated", "A notification is for a tenant this app does not serve."
        )
    host = get_settings().cloud.authority_host
    tenant = next(iter(tenant_ids))

    def key_for(kid: str) -> Any:
        try:
            return signing_keys(host, tenant).key(kid)
        except KeysUnavailableError:
            raise
        except InvalidTokenError:
            return None

    try:
        verify_validation_tokens(
            batch.validation_tokens,
            app_ids=app_ids,
            tenant_ids=frozenset(notified or tenant_ids),
            issuer_for=lambda tid: signing_keys(host, tid).issuer(V1),
            key_for=key_for,
        )
    except KeysUnavailableError as exc:
        raise Refused(
            503, "webhook-signing-keys", "Entra's signing keys could not be read; retry later."
        ) from exc


def _graph_app() -> tuple[frozenset[str], frozenset[str]]:
    """Our app id(s) (validation tokens' audience) and tenant(s): settings, else the Graph connection's."""
    from shared.webhooks._settings import GRAPH_APP_ID, GRAPH_CONNECTION

    settings = webhook_settings()
    app_id, tenant_id = settings.graph_app_id, settings.graph_tenant_id
    if (not app_id or not tenant_id) and settings.graph_connection:
        from shared.config import get_settings

        connection = get_settings().connection(settings.graph_connection)
        app_id = app_id or connection.client_id or get_settings().managed_identity.client_id
        tenant_id = tenant_id or connection.tenant_id
    if not app_id or not tenant_id:
        from shared.errors import ConfigurationError

        raise ConfigurationError(
            f"Rich notifications need the app id and tenant: set {GRAPH_CONNECTION} (or {GRAPH_APP_ID} "
            "and WEBHOOKS_GRAPH_TENANT_ID)."
        )
    return frozenset({app_id.lower()}), frozenset({tenant_id.lower()})


# -- Event Grid / CloudEvents ------------------------------------------------------------


def eventgrid(req: func.HttpRequest) -> func.HttpResponse:
    """POST/OPTIONS /api/webhooks/eventgrid."""
    if req.method.upper() == "OPTIONS":
        return guarded(
            req, lambda: func.HttpResponse(status_code=200, headers=_eventgrid.options_answer(req.headers))
        )
    return guarded(req, lambda: _eventgrid_post(req))


def _eventgrid_post(req: func.HttpRequest) -> func.HttpResponse:
    delivery = _eventgrid.parse_delivery(req.headers, _body(req))
    if delivery.validation_code is not None:
        return func.HttpResponse(
            json.dumps({"validationResponse": delivery.validation_code}),
            status_code=200,
            mimetype="application/json",
        )
    events = [
        InboxEvent(
            id=_eventgrid.event_key(e, delivery.schema),
            type=_eventgrid.event_type(e, delivery.schema),
            subject=str(e.get("subject")) if e.get("subject") is not None else None,
            payload=e,
        )
        for e in delivery.events
    ]
    message_id = store_durably(envelope(EVENTGRID, EVENTGRID, events, meta={"schema": delivery.schema}))
    return _accepted(200, len(events), message_id)


# -- signed ------------------------------------------------------------------------------


_KEPT_HEADERS = ("content-type", "user-agent", "x-github-event", "x-github-hook-id", "webhook-timestamp")


def signed(req: func.HttpRequest, *, now: Callable[[], float] = time.time) -> func.HttpResponse:
    """POST /api/webhooks/signed/{source}: Standard Webhooks or GitHub, by the source's declared scheme."""
    return guarded(req, lambda: _signed_post(req, now()))


def _signed_post(req: func.HttpRequest, now: float) -> func.HttpResponse:
    source = str(req.route_params.get("source") or "").lower()
    scheme = signed_scheme(source) if valid_source(source) else None
    if scheme is None:
        raise Refused(404, "webhook-unknown-source", "No signed webhook source has this name.")
    body = _body(req)
    from shared.webhooks._secrets import secrets

    secret_name = f"webhook-{source}"
    headers = dict(req.headers)
    try:
        verified = _signatures.verify(scheme, secrets().values(secret_name), headers, body, now=now)
    except Refused as refused:
        if refused.http_status != 401 or "timestamp" in refused.message:
            raise
        # A new secret version may sign it: read the vault again (at most once a minute).
        verified = _signatures.verify(
            scheme, secrets().values(secret_name, fresh=True), headers, body, now=now
        )
    _refuse_replay(source, verified.event_id)
    kept = {k.lower(): v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
    event = InboxEvent(
        id=verified.event_id,
        type=kept.get("x-github-event") or _payload_type(body) or "webhook",
        subject=None,
        payload={"body": body.decode("utf-8", errors="replace"), "headers": kept},
    )
    message_id = store_durably(envelope("signed", source, [event], meta={"scheme": scheme}))
    return _accepted(200, 1, message_id)


def _payload_type(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = doc.get("type") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def _refuse_replay(source: str, event_id: str) -> None:
    """An id this source already delivered and we processed is refused (409), not stored again."""
    from shared.webhooks._ledger import EventLog, ack_account

    if EventLog(ack_account()).seen(source, event_id):
        raise Refused(
            409, "webhook-replayed", "This webhook id was already received; it is not stored again."
        )
