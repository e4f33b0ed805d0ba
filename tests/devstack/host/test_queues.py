"""Queue message encoding and conversion as the Storage Queues extension and the Python worker do it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.storage.queue import QueueMessage as StorageMessage

from devstack.host.queues import decode_body, encode_body, output_bodies, to_function_message


def test_base64_round_trip() -> None:
    """Output is base64 of the UTF-8 body; input is decoded back."""
    stored = encode_body("héllo", "base64")
    assert stored == base64.b64encode("héllo".encode()).decode()
    assert decode_body(stored, "base64") == "héllo".encode()


def test_encoding_none() -> None:
    """messageEncoding "none" stores the text as is."""
    assert encode_body("plain", "none") == "plain"
    assert decode_body("plain", "none") == b"plain"


def test_invalid_base64_is_rejected() -> None:
    """Text that is not base64 cannot be decoded (the host poisons it)."""
    with pytest.raises(ValueError, match="base64"):
        decode_body("not base64!", "base64")


def test_output_values() -> None:
    """str, bytes, QueueMessage and lists of them are messages; None sends nothing."""
    assert output_bodies(None) == []
    assert output_bodies("a") == ["a"]
    assert output_bodies([b"b", func.QueueMessage(body="c")]) == [b"b", b"c"]
    with pytest.raises(TypeError):
        output_bodies(42)


def test_function_message_carries_metadata() -> None:
    """The function sees id, dequeue count, insertion and expiry times and the decoded body."""
    inserted = datetime(2026, 1, 1, tzinfo=UTC)
    stored = StorageMessage(content="aGk=")
    stored.id = "m1"
    stored.dequeue_count = 2
    stored.inserted_on = inserted
    stored.expires_on = inserted
    stored.pop_receipt = "r"
    message = to_function_message(stored, b"hi")
    assert isinstance(message, func.QueueMessage)
    assert message.id == "m1"
    assert message.dequeue_count == 2
    assert message.insertion_time == inserted
    assert message.get_body() == b"hi"
    assert message.pop_receipt == "r"
