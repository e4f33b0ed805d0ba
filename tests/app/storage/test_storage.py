"""shared.storage against Azurite: conditional writes, leases, queues, blobs, settings and errors."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.queue import QueueClient

from devstack.azurite import Azurite
from shared.errors import ConfigurationError, StorageError
from shared.storage import Account, StorageTarget, open_account, read_target

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_insert_if_absent_writes_once(storage: Account) -> None:
    """A second insert with the same keys writes nothing and returns None."""
    first = storage.insert_if_absent("things", {"PartitionKey": "p", "RowKey": "r", "v": 1})
    second = storage.insert_if_absent("things", {"PartitionKey": "p", "RowKey": "r", "v": 2})
    assert first is not None
    assert first.etag
    assert second is None
    row = storage.get("things", "p", "r")
    assert row is not None
    assert row["v"] == 1


def test_concurrent_inserts_have_one_winner(storage: Account) -> None:
    """Of 8 threads inserting the same keys at once, exactly one succeeds."""
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def insert(i: int) -> None:
        barrier.wait()
        results.append(
            storage.insert_if_absent("race", {"PartitionKey": "p", "RowKey": "r", "i": i}) is not None
        )

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_update_if_match_refuses_a_stale_etag(storage: Account) -> None:
    """An update with the ETag read before someone else's update changes nothing."""
    row = storage.insert_if_absent("things", {"PartitionKey": "p", "RowKey": "r", "v": 1})
    assert row is not None
    newer = storage.update_if_match("things", {"PartitionKey": "p", "RowKey": "r", "v": 2}, row.etag)
    stale = storage.update_if_match("things", {"PartitionKey": "p", "RowKey": "r", "v": 3}, row.etag)
    assert newer is not None
    assert newer.etag != row.etag
    assert stale is None
    current = storage.get("things", "p", "r")
    assert current is not None
    assert current["v"] == 2


def test_transaction_is_all_or_nothing(storage: Account) -> None:
    """A transaction with one existing entity inserts none of the others."""
    assert storage.insert_if_absent("tx", {"PartitionKey": "p", "RowKey": "b"}) is not None
    ok = storage.insert_all_if_absent(
        "tx", [{"PartitionKey": "p", "RowKey": "a"}, {"PartitionKey": "p", "RowKey": "b"}]
    )
    assert ok is False
    assert storage.get("tx", "p", "a") is None
    assert storage.insert_all_if_absent(
        "tx", [{"PartitionKey": "p", "RowKey": "c"}, {"PartitionKey": "p", "RowKey": "d"}]
    )


def test_lease_excludes_a_second_holder_until_it_expires(storage: Account) -> None:
    """A valid lease is refused to another holder; once expired it is taken over and the old holder named."""
    first = storage.lease("leases", "job", "run-1", now=T0, until=T0 + timedelta(minutes=5), run="run-1")
    refused = storage.lease(
        "leases", "job", "run-2", now=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=6)
    )
    taken = storage.lease(
        "leases", "job", "run-3", now=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=10)
    )
    assert first.acquired
    assert not refused.acquired
    assert refused.holder == "run-1"
    assert refused.expires == T0 + timedelta(minutes=5)
    assert taken.acquired
    assert taken.taken_over == "run-1"
    assert taken.previous is not None
    assert taken.previous["run"] == "run-1"
    assert storage.release("leases", first) is False  # no longer ours
    assert storage.release("leases", taken) is True
    assert storage.lease("leases", "job", "run-4", now=T0, until=T0 + timedelta(minutes=1)).acquired


def test_query_pages_with_an_opaque_continuation(storage: Account) -> None:
    """A query returns pages of the asked size and a continuation string that resumes it."""
    for i in range(7):
        storage.insert_if_absent("q", {"PartitionKey": "p", "RowKey": f"{i:03d}", "even": i % 2 == 0})
    first = storage.query("q", "PartitionKey eq @p", parameters={"p": "p"}, page_size=3)
    second = storage.query(
        "q", "PartitionKey eq @p", parameters={"p": "p"}, page_size=3, continuation=first.continuation
    )
    assert [r["RowKey"] for r in first.rows] == ["000", "001", "002"]
    assert [r["RowKey"] for r in second.rows] == ["003", "004", "005"]
    assert first.continuation is not None
    assert "=" not in first.continuation
    evens = storage.query_all("q", "PartitionKey eq @p and even eq true", parameters={"p": "p"})
    assert len(evens) == 4


def test_a_forged_continuation_is_a_value_error(storage: Account) -> None:
    """A continuation that this API did not hand out is refused as bad input, not sent to storage."""
    with pytest.raises(ValueError, match="continuation"):
        storage.query("q", "PartitionKey eq 'p'", continuation="not-a-token!")


def test_enqueue_writes_base64_the_functions_host_reads(storage: Account, azurite: Azurite) -> None:
    """A dict is sent as JSON in base64, as the Functions host's queue trigger expects by default."""
    storage.enqueue("work", {"run": "r1"})
    raw = QueueClient.from_connection_string(azurite.connection_string, storage.name("work"))
    message = next(iter(raw.receive_messages()))
    assert json.loads(base64.b64decode(message.content)) == {"run": "r1"}


def test_blobs_round_trip_and_missing_is_none(storage: Account) -> None:
    """A blob written is read back byte for byte; a missing one reads as None."""
    storage.put_blob("outputs", "a/b.json", b'{"x": 1}')
    assert storage.get_blob("outputs", "a/b.json") == b'{"x": 1}'
    assert storage.get_blob("outputs", "nope.json") is None


def test_unreachable_storage_is_an_outage(azurite: Azurite) -> None:
    """Storage that does not answer raises StorageError with outage=True, without the account key."""
    dead = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    store = open_account(StorageTarget("AzureWebJobsStorage", connection_string=dead))
    with pytest.raises(StorageError) as caught:
        store.table("nothere")
    assert caught.value.outage is True
    assert "a2V5" not in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)


def test_wrong_account_key_is_a_refusal_with_status(azurite: Azurite) -> None:
    """A key Azurite rejects maps to StorageError with the 403 and a hint naming the data roles."""
    bad = azurite.connection_string.replace(
        azurite.connection_string.split("AccountKey=")[1].split(";")[0], "d3Jvbmc="
    )
    store = open_account(StorageTarget("AzureWebJobsStorage", connection_string=bad))
    with pytest.raises(StorageError) as caught:
        store.insert_if_absent("things", {"PartitionKey": "p", "RowKey": "r"})
    assert caught.value.status == 403
    assert caught.value.outage is False
    assert "Storage Table Data Contributor" in (caught.value.hint or "")


def test_settings_identity_based_derives_service_uris() -> None:
    """`__accountName` alone gives the public cloud's three service URIs and the managed identity."""
    target = read_target({"AzureWebJobsStorage__accountName": "acct", "AzureWebJobsStorage__clientId": "cid"})
    assert target.connection_string is None
    assert target.service_uris == {
        "blob": "https://acct.blob.core.windows.net",
        "queue": "https://acct.queue.core.windows.net",
        "table": "https://acct.table.core.windows.net",
    }
    assert target.client_id == "cid"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "AzureWebJobsStorage__accountName"),
        (
            {"AzureWebJobsStorage__blobServiceUri": "https://a.blob.core.windows.net"},
            "AzureWebJobsStorage__tableServiceUri",
        ),
        ({"AzureWebJobsStorage": "just-a-name"}, "AzureWebJobsStorage__accountName"),
        (
            {"AzureWebJobsStorage__accountName": "a", "AzureWebJobsStorage__credential": "secret"},
            "credential",
        ),
    ],
)
def test_settings_errors_name_what_to_set(environ: dict[str, str], named: str) -> None:
    """Missing or malformed storage settings raise ConfigurationError naming the setting to fix."""
    with pytest.raises(ConfigurationError, match=named):
        read_target(environ)


def test_target_repr_hides_the_account_key() -> None:
    """A target's repr never shows the connection string (it holds the account key)."""
    target = StorageTarget("AzureWebJobsStorage", connection_string="AccountName=a;AccountKey=c2VjcmV0")
    assert "c2VjcmV0" not in repr(target)
