"""Event Grid and CloudEvents 1.0 deliveries, pure: handshakes and event parsing.

- Event Grid schema (learn.microsoft.com/azure/event-grid/webhook-event-delivery): the
  validation POST has `aeg-event-type: SubscriptionValidation` and one
  `Microsoft.EventGrid.SubscriptionValidationEvent`; the answer is **200**
  `{"validationResponse": data.validationCode}` (Event Grid does not accept 202 here).
  Notifications (`aeg-event-type: Notification`) are a JSON array of events with `id`,
  `eventType`, `subject`, `eventTime`, `data`, `dataVersion` and the `topic`.
- CloudEvents 1.0 over HTTP (github.com/cloudevents/spec, http-protocol-binding.md and the
  HTTP 1.1 Web Hooks spec): the abuse-protection handshake is `OPTIONS` with
  `WebHook-Request-Origin`, answered with `WebHook-Allowed-Origin`, `WebHook-Allowed-Rate`
  and `Allow: POST`; events come structured (`application/cloudevents+json`, one event),
  batched (`application/cloudevents-batch+json`, an array) or in binary mode: the attributes
  as `ce-*` headers (percent-encoded UTF-8, possibly double-quoted), the body the event's data
  and `Content-Type` its `datacontenttype` (http-protocol-binding.md, 3.1). A request with a
  `ce-specversion` header and a content type that is not a CloudEvents format is binary mode.
  `source` + `id` identify an event.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.webhooks._refusal import Refused, bad_request

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
CLOUDEVENTS = "application/cloudevents+json"
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"
MAX_EVENTS = 5000
MAX_ORIGIN = 255
CE_PREFIX = "ce-"
# Attribute names: lower-case ASCII letters and digits (spec.md, "Attribute Naming Convention").
_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QUOTED_PAIR = re.compile(r"\\(.)")


def media_type(headers: Mapping[str, str]) -> str:
    """The request's media type, lower case, without parameters."""
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


def header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v.strip() for k, v in headers.items() if k.lower() == name), None)


def options_answer(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers of the answer to the CloudEvents abuse-protection OPTIONS request."""
    origin = header(headers, "webhook-request-origin")
    if not origin:
        raise bad_request("OPTIONS needs a WebHook-Request-Origin header (CloudEvents web hook handshake).")
    if len(origin) > MAX_ORIGIN or not origin.isprintable() or any(c in origin for c in ",\r\n"):
        raise bad_request("WebHook-Request-Origin is not a host name.")
    # "*": no rate limit, whether or not WebHook-Request-Rate asked for one (the spec allows stating it).
    return {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*", "Allow": "POST"}


@dataclass(frozen=True)
class Delivery:
    """A parsed POST: a validation code to echo, or events (each with its dedupe id)."""

    validation_code: str | None
    events: list[dict[str, Any]]
    schema: str  # "eventgrid" | "cloudevents"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The body is not JSON.") from exc


def _check_eventgrid_event(event: object) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise bad_request("Each Event Grid event must be a JSON object.")
    for member in ("id", "eventType", "eventTime"):
        if not isinstance(event.get(member), str) or not event[member]:
            raise bad_request(f"An Event Grid event has no {member}.")
    if not isinstance(event.get("subject"), str):  # may be empty (validation events' is "")
        raise bad_request("An Event Grid event has no subject.")
    return event


def _check_cloudevent(event: object) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise bad_request("Each CloudEvent must be a JSON object.")
    if event.get("specversion") != "1.0":
        raise bad_request('A CloudEvent must have specversion "1.0".')
    for member in ("id", "source", "type"):
        if not isinstance(event.get(member), str) or not event[member]:
            raise bad_request(f"A CloudEvent has no {member}.")
    return event


def _header_value(name: str, raw: str) -> str:
    """A `ce-*` header's attribute value: unquote a quoted-string, then one round of
    percent-decoding; bytes that are not UTF-8 (overlong forms too) and control characters refused."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
    try:
        decoded = urllib.parse.unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"Header {name} is not percent-encoded UTF-8.") from exc
    if _CONTROL.search(decoded):
        raise bad_request(f"Header {name} holds control characters.")
    return decoded


def _binary_data(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The body as the event's `data` (JSON decoded, text as text) or `data_base64` (anything else)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return {"data": _json(body)}
    if kind.startswith("text/"):
        try:
            return {"data": body.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"data_base64": base64.b64encode(body).decode("ascii")}


def _binary_cloudevent(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A binary-mode CloudEvent as its structured (JSON format) form."""
    attributes: dict[str, Any] = {}
    for name, raw in headers.items():
        lower = name.lower()
        if not lower.startswith(CE_PREFIX):
            continue
        attribute = lower[len(CE_PREFIX) :]
        if not _ATTRIBUTE_NAME.fullmatch(attribute) or attribute == "data":
            raise bad_request(f"Header {name} does not name a CloudEvents attribute (a-z and 0-9 only).")
        if attribute == "datacontenttype":
            raise bad_request(
                "In binary mode datacontenttype is the Content-Type; ce-datacontenttype is not allowed."
            )
        attributes[attribute] = _header_value(name, raw)
    event = _check_cloudevent(attributes)
    content_type = header(headers, "content-type")
    if content_type:
        event["datacontenttype"] = content_type
    if body:
        event.update(_binary_data(content_type, body))
    return event


def parse_delivery(headers: Mapping[str, str], body: bytes) -> Delivery:
    """Decode an Event Grid or CloudEvents POST by its content type, `ce-specversion` and `aeg-event-type`."""
    kind = media_type(headers)
    if kind not in (CLOUDEVENTS, CLOUDEVENTS_BATCH) and header(headers, "ce-specversion") is not None:
        return Delivery(None, [_binary_cloudevent(headers, body)], "cloudevents")
    if kind == CLOUDEVENTS:
        return Delivery(None, [_check_cloudevent(_json(body))], "cloudevents")
    if kind == CLOUDEVENTS_BATCH:
        doc = _json(body)
        if not isinstance(doc, list) or not doc:
            raise bad_request("A CloudEvents batch must be a non-empty JSON array.")
        _limit(doc)
        return Delivery(None, [_check_cloudevent(e) for e in doc], "cloudevents")
    if kind != "application/json":
        raise Refused(
            415,
            "webhook-media-type",
            f"Unsupported content type '{kind or 'none'}': expected application/json (Event Grid schema), "
            f"{CLOUDEVENTS}, {CLOUDEVENTS_BATCH}, or a CloudEvent in binary mode (ce-specversion, "
            "ce-id, ce-source and ce-type headers).",
        )
    doc = _json(body)
    if not isinstance(doc, list) or not doc:
        raise bad_request("An Event Grid delivery must be a non-empty JSON array of events.")
    _limit(doc)
    events = [_check_eventgrid_event(e) for e in doc]
    aeg = (header(headers, "aeg-event-type") or "").lower()
    if aeg == "subscriptionvalidation" or events[0].get("eventType") == VALIDATION_EVENT:
        code = (
            (events[0].get("data") or {}).get("validationCode")
            if isinstance(events[0].get("data"), dict)
            else None
        )
        if events[0].get("eventType") != VALIDATION_EVENT or not isinstance(code, str) or not code:
            raise bad_request(
                "A SubscriptionValidation request must carry one validation event with data.validationCode."
            )
        return Delivery(code, [], "eventgrid")
    return Delivery(None, events, "eventgrid")


def _limit(doc: list[Any]) -> None:
    if len(doc) > MAX_EVENTS:
        raise Refused(413, "webhook-too-large", f"At most {MAX_EVENTS} events per delivery.")


def event_key(event: Mapping[str, Any], schema: str) -> str:
    """What identifies an event for dedupe: CloudEvents source + id; Event Grid topic + id."""
    origin = event.get("source") if schema == "cloudevents" else event.get("topic")
    return f"{origin or ''}|{event['id']}"


def event_type(event: Mapping[str, Any], schema: str) -> str:
    return str(event.get("type") if schema == "cloudevents" else event.get("eventType"))
