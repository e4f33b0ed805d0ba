"""Event Grid and CloudEvents rules, pure: validation handshake, OPTIONS, structured and batched events."""

from __future__ import annotations

import json

import pytest

from shared.webhooks._eventgrid import event_key, options_answer, parse_delivery
from shared.webhooks._refusal import Refused

JSON = {"Content-Type": "application/json"}


def _eg_event(i: int = 1, **extra: object) -> dict[str, object]:
    return {
        "id": f"e-{i}",
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
        "subject": "/blobServices/default/containers/c/blobs/b",
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": "2026-12-01T10:00:00Z",
        "data": {"url": "https://sa.blob.core.windows.net/c/b"},
        "dataVersion": "1",
        **extra,
    }


def _cloudevent(i: int = 1) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"c-{i}",
        "source": "/my/source",
        "type": "com.example.thing",
        "data": {},
    }


def test_subscription_validation_returns_the_code() -> None:
    """aeg-event-type SubscriptionValidation with one validation event yields its validationCode."""
    event = _eg_event(
        eventType="Microsoft.EventGrid.SubscriptionValidationEvent", data={"validationCode": "512d38b6"}
    )
    delivery = parse_delivery(
        {**JSON, "aeg-event-type": "SubscriptionValidation"}, json.dumps([event]).encode()
    )
    assert delivery.validation_code == "512d38b6"
    assert delivery.events == []


def test_notifications_are_events_with_topic_and_id_keys() -> None:
    """A Notification delivery yields its events; the dedupe key is topic + id."""
    delivery = parse_delivery(
        {**JSON, "aeg-event-type": "Notification"}, json.dumps([_eg_event(1), _eg_event(2)]).encode()
    )
    assert [e["id"] for e in delivery.events] == ["e-1", "e-2"]
    assert event_key(delivery.events[0], delivery.schema).endswith("|e-1")


def test_cloudevents_structured_and_batched() -> None:
    """application/cloudevents+json is one event; application/cloudevents-batch+json an array of them."""
    one = parse_delivery(
        {"Content-Type": "application/cloudevents+json; charset=utf-8"}, json.dumps(_cloudevent()).encode()
    )
    assert one.schema == "cloudevents"
    assert [e["id"] for e in one.events] == ["c-1"]
    batch = parse_delivery(
        {"content-type": "application/cloudevents-batch+json"},
        json.dumps([_cloudevent(1), _cloudevent(2)]).encode(),
    )
    assert [event_key(e, "cloudevents") for e in batch.events] == ["/my/source|c-1", "/my/source|c-2"]


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "text/plain"}, b"[]", 415),
        ({}, b"[]", 415),
        (JSON, b"{not json", 400),
        (JSON, b"[]", 400),
        (JSON, b'{"id": "x"}', 400),
        (JSON, json.dumps([{"id": "x"}]).encode(), 400),
        ({**JSON, "aeg-event-type": "SubscriptionValidation"}, json.dumps([_eg_event()]).encode(), 400),
        (
            {"Content-Type": "application/cloudevents+json"},
            json.dumps({**_cloudevent(), "specversion": "0.3"}).encode(),
            400,
        ),
        ({"Content-Type": "application/cloudevents-batch+json"}, b"{}", 400),
    ],
)
def test_bad_deliveries_are_4xx(headers: dict[str, str], body: bytes, status: int) -> None:
    """Wrong content types are 415; non-JSON, empty, incomplete events and bad validation requests are 400."""
    with pytest.raises(Refused) as caught:
        parse_delivery(headers, body)
    assert caught.value.http_status == status


def test_options_handshake_allows_the_origin() -> None:
    """OPTIONS with WebHook-Request-Origin answers the origin, a rate and Allow: POST; without it, 400."""
    answer = options_answer(
        {"WebHook-Request-Origin": "eventemitter.example.com", "WebHook-Request-Rate": "120"}
    )
    assert answer == {
        "WebHook-Allowed-Origin": "eventemitter.example.com",
        "WebHook-Allowed-Rate": "*",
        "Allow": "POST",
    }
    with pytest.raises(Refused):
        options_answer({})


BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "b-1",
    "ce-source": "/mycontext/subcontext",
    "ce-type": "com.example.someevent",
    "ce-time": "2018-04-05T03:56:24Z",
}


def test_cloudevents_binary_mode_json_data() -> None:
    """ce-* headers are the attributes, the JSON body the data, Content-Type the datacontenttype."""
    delivery = parse_delivery(
        {**BINARY, "Content-Type": "application/json; charset=utf-8", "CE-Subject": "s1"}, b'{"k": 1}'
    )
    assert delivery.schema == "cloudevents"
    (event,) = delivery.events
    assert event == {
        "specversion": "1.0",
        "id": "b-1",
        "source": "/mycontext/subcontext",
        "type": "com.example.someevent",
        "time": "2018-04-05T03:56:24Z",
        "subject": "s1",
        "datacontenttype": "application/json; charset=utf-8",
        "data": {"k": 1},
    }
    assert event_key(event, delivery.schema) == "/mycontext/subcontext|b-1"


def test_cloudevents_binary_mode_header_values_are_decoded() -> None:
    """Values are percent-decoded UTF-8 (the spec's Euro example); quoted ones unquoted; extensions kept."""
    headers = {
        **BINARY,
        "ce-source": "Euro%20%E2%82%AC%20%F0%9F%98%80",
        "ce-subject": '"old \\"style\\" value"',
        "ce-myext": "a%2fb",
        "Content-Type": "text/plain",
    }
    (event,) = parse_delivery(headers, "héllo".encode()).events
    assert event["source"] == "Euro \u20ac \U0001f600"
    assert event["subject"] == 'old "style" value'
    assert event["myext"] == "a/b"
    assert event["data"] == "héllo"


def test_cloudevents_binary_mode_other_data_is_base64_and_empty_body_has_no_data() -> None:
    """A non-JSON, non-text body is data_base64; no body and no Content-Type: an event without data."""
    (event,) = parse_delivery({**BINARY, "Content-Type": "application/octet-stream"}, b"\x00\xff").events
    assert event["data_base64"] == "AP8="
    assert "data" not in event
    (bare,) = parse_delivery(BINARY, b"").events
    assert "data" not in bare
    assert "datacontenttype" not in bare


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({k: v for k, v in BINARY.items() if k != "ce-id"}, b""),
        ({k: v for k, v in BINARY.items() if k != "ce-source"}, b""),
        ({k: v for k, v in BINARY.items() if k != "ce-type"}, b""),
        ({**BINARY, "ce-specversion": "0.3"}, b""),
        ({**BINARY, "ce-datacontenttype": "application/json"}, b""),
        ({**BINARY, "ce-my-extension": "x"}, b""),
        ({**BINARY, "ce-data": "x"}, b""),
        ({**BINARY, "ce-source": "%C0%A0"}, b""),  # an overlong UTF-8 encoding of a space
        ({**BINARY, "ce-id": "a%00b"}, b""),
        ({**BINARY, "Content-Type": "application/json"}, b"{not json"),
        ({**BINARY, "Content-Type": "application/vnd.thing+json"}, b"\xff"),
    ],
)
def test_bad_binary_cloudevents_are_400(headers: dict[str, str], body: bytes) -> None:
    """Missing required attributes, a wrong specversion, ce-datacontenttype, bad attribute names,
    bad encodings, control characters and undecodable JSON data are each refused 400."""
    with pytest.raises(Refused) as caught:
        parse_delivery(headers, body)
    assert caught.value.http_status == 400
