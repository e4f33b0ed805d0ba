"""One storage account: Table, Blob and Queue clients built once, and the operations the app needs.

Every effect that must happen once is a conditional write: `insert_if_absent` (If-None-Match: *,
i.e. an insert that fails when the entity exists), `update_if_match` (If-Match: <ETag>) and the
lease built on them. Expected outcomes are values (`None`, `False`); failures are `StorageError`.
SDK modules are imported here, and this module is imported only where storage is used, so
`import function_app` stays light.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, TableTransactionError, UpdateMode
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings
from azure.storage.queue import (
    BinaryBase64DecodePolicy,
    BinaryBase64EncodePolicy,
    QueueClient,
    QueueServiceClient,
)

from shared.errors import StorageError
from shared.storage._errors import storage_error
from shared.storage._settings import StorageTarget

_Client = TypeVar("_Client", TableClient, ContainerClient, QueueClient)


@dataclass(frozen=True)
class Row:
    """A table entity as stored, with the ETag a conditional update must present."""

    entity: Mapping[str, Any]
    etag: str

    def __getitem__(self, key: str) -> Any:
        return self.entity[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.entity.get(key, default)


@dataclass(frozen=True)
class Page:
    """One page of a query and the opaque token for the next (None on the last page)."""

    rows: list[Row]
    continuation: str | None


@dataclass(frozen=True)
class Lease:
    """The outcome of asking for a lease: held by us (`acquired`) or by `holder` until `expires`.

    `taken_over` names the previous holder when its lease had expired (it died or overran).
    """

    name: str
    holder: str
    expires: datetime
    acquired: bool
    etag: str | None = None
    taken_over: str | None = None
    previous: Mapping[str, Any] | None = None


def _etag(metadata: Mapping[str, Any]) -> str:
    return str(metadata.get("etag") or "")


def encode_continuation(token: Mapping[str, Any] | None) -> str | None:
    """An opaque, URL-safe string for a Table continuation token."""
    if not token:
        return None
    raw = json.dumps(dict(token), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continuation(value: str | None) -> dict[str, Any] | None:
    """The continuation token back from `encode_continuation`; ValueError if it was not one."""
    if not value:
        return None
    try:
        token = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, TypeError) as exc:
        raise ValueError("not a continuation token from this API") from exc
    if not isinstance(token, dict) or not all(isinstance(v, str) for v in token.values()):
        raise ValueError("not a continuation token from this API")
    return token


class Account:
    """Clients for one account, built lazily once; tables, containers and queues created on first use."""

    def __init__(
        self, target: StorageTarget, *, prefix: str = "", client_options: Mapping[str, Any] | None = None
    ) -> None:
        self.target = target
        # Passed to every SDK client (retry and timeout settings of a latency-bound caller).
        self.client_options = dict(client_options or {})
        # A prefix for every table, container and queue name (tests share one Azurite).
        self.prefix = prefix
        self._lock = threading.Lock()
        self._services: dict[str, Any] = {}
        self._tables: dict[str, TableClient] = {}
        self._containers: dict[str, ContainerClient] = {}
        self._queues: dict[str, QueueClient] = {}

    # -- clients -------------------------------------------------------------------------------

    def _credential(self) -> Any:
        credential = self._services.get("credential")
        if credential is None:
            # Imported only in Azure (identity-based storage): locally a connection string is used.
            from azure.identity import ManagedIdentityCredential

            credential = ManagedIdentityCredential(client_id=self.target.client_id)
            self._services["credential"] = credential
        return credential

    def _service(self, kind: str) -> Any:
        with self._lock:
            service = self._services.get(kind)
            if service is not None:
                return service
            classes: dict[str, Any] = {
                "table": TableServiceClient,
                "blob": BlobServiceClient,
                "queue": QueueServiceClient,
            }
            cls = classes[kind]
            options = self.client_options
            if self.target.connection_string:
                service = cls.from_connection_string(self.target.connection_string, **options)
            else:
                uris = self.target.service_uris or {}
                service = cls(uris[kind], credential=self._credential(), **options)
            self._services[kind] = service
            return service

    def name(self, base: str) -> str:
        """The stored name for `base` (with the account's prefix)."""
        return f"{self.prefix}{base}"

    def table(self, name: str) -> TableClient:
        """The client for table `name`, created in the account the first time."""
        full = self.name(name)
        return self._created(
            self._tables, full, lambda: self._service("table").get_table_client(full), "table"
        )

    def container(self, name: str) -> ContainerClient:
        """The client for blob container `name`, created the first time."""
        full = self.name(name)
        return self._created(
            self._containers,
            full,
            lambda: self._service("blob").get_container_client(full),
            "container",
        )

    def queue(self, name: str) -> QueueClient:
        """The client for queue `name` (base64 messages, as the Functions host uses), created once."""
        full = self.name(name)
        # The Functions host reads and writes queue messages as base64 (host.json
        # extensions.queues.messageEncoding defaults to base64).
        return self._created(
            self._queues,
            full,
            lambda: self._service("queue").get_queue_client(
                full,
                message_encode_policy=BinaryBase64EncodePolicy(),
                message_decode_policy=BinaryBase64DecodePolicy(),
            ),
            "queue",
        )

    @staticmethod
    def _created(cache: dict[str, _Client], full: str, build: Callable[[], _Client], what: str) -> _Client:
        """`cache[full]`, or a new client from `build()` whose table, container or queue is
        created first (already existing is fine)."""
        client = cache.get(full)
        if client is None:
            client = build()
            create = getattr(client, f"create_{what}")
            try:
                create()
            except ResourceExistsError:
                pass
            except AzureError as exc:
                raise storage_error(exc, f"create {what} {full}") from exc
            cache[full] = client
        return client

    @contextmanager
    def _mapped(self, operation: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except AzureError as exc:
            raise storage_error(exc, operation) from exc

    # -- tables --------------------------------------------------------------------------------

    def insert_if_absent(self, table: str, entity: Mapping[str, Any]) -> Row | None:
        """Insert `entity`; None (nothing written) when one with its keys exists already."""
        client = self.table(table)
        try:
            metadata = client.create_entity(dict(entity))
        except ResourceExistsError:
            return None
        except AzureError as exc:
            raise storage_error(exc, f"insert into {table}") from exc
        return Row(dict(entity), _etag(metadata))

    def insert_all_if_absent(self, table: str, entities: Iterable[Mapping[str, Any]]) -> bool:
        """Insert entities of one partition atomically (a transaction); False if any existed."""
        client = self.table(table)
        operations: list[Any] = [("create", dict(e)) for e in entities]
        try:
            client.submit_transaction(operations)
        except TableTransactionError as exc:
            if exc.status_code == 409:
                return False
            raise storage_error(exc, f"transaction on {table}") from exc
        except AzureError as exc:
            raise storage_error(exc, f"transaction on {table}") from exc
        return True

    def get(self, table: str, partition: str, row: str) -> Row | None:
        """The entity with these keys, or None."""
        client = self.table(table)
        try:
            entity = client.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise storage_error(exc, f"read from {table}") from exc
        return Row(dict(entity), _etag(entity.metadata))

    def update_if_match(
        self, table: str, entity: Mapping[str, Any], etag: str, *, replace: bool = False
    ) -> Row | None:
        """Merge (or replace) `entity` if it still has `etag`; None when someone changed or deleted it."""
        client = self.table(table)
        mode = UpdateMode.REPLACE if replace else UpdateMode.MERGE
        try:
            metadata = client.update_entity(
                dict(entity), mode=mode, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        except AzureError as exc:
            if getattr(exc, "status_code", None) == 412:
                return None
            raise storage_error(exc, f"update in {table}") from exc
        return Row(dict(entity), _etag(metadata))

    def upsert(self, table: str, entity: Mapping[str, Any]) -> Row:
        """Insert or merge, unconditionally (for rows only one writer owns)."""
        client = self.table(table)
        with self._mapped(f"upsert into {table}"):
            metadata = client.upsert_entity(dict(entity), mode=UpdateMode.MERGE)
        return Row(dict(entity), _etag(metadata))

    def delete(self, table: str, partition: str, row: str, *, etag: str | None = None) -> bool:
        """Delete one entity (only if it still has `etag`, when given); False if it was gone or changed."""
        client = self.table(table)
        kwargs: dict[str, Any] = {}
        if etag:
            kwargs = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        try:
            client.delete_entity(partition, row, **kwargs)
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        except AzureError as exc:
            if getattr(exc, "status_code", None) == 412:
                return False
            raise storage_error(exc, f"delete in {table}") from exc
        return True

    def query(
        self,
        table: str,
        filter: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        select: list[str] | None = None,
        page_size: int = 100,
        continuation: str | None = None,
    ) -> Page:
        """One page of entities matching an OData `filter` (use `@name` parameters for values)."""
        client = self.table(table)
        token = decode_continuation(continuation)
        with self._mapped(f"query {table}"):
            pages = client.query_entities(
                filter, parameters=dict(parameters or {}), select=select, results_per_page=page_size
            ).by_page(continuation_token=token)  # type: ignore[arg-type]  # Tables pages by a dict
            page = next(pages, None)
            rows = [Row(dict(e), _etag(e.metadata)) for e in (page or [])]
            nxt = getattr(pages, "continuation_token", None)
        return Page(rows, encode_continuation(nxt))

    def query_all(
        self, table: str, filter: str, *, parameters: Mapping[str, Any] | None = None, limit: int = 100_000
    ) -> list[Row]:
        """Every entity matching `filter`, up to `limit`."""
        client = self.table(table)
        rows: list[Row] = []
        with self._mapped(f"query {table}"):
            for entity in client.query_entities(filter, parameters=dict(parameters or {})):
                rows.append(Row(dict(entity), _etag(entity.metadata)))
                if len(rows) >= limit:
                    break
        return rows

    # -- lease ---------------------------------------------------------------------------------

    def lease(
        self, table: str, name: str, holder: str, *, now: datetime, until: datetime, **facts: Any
    ) -> Lease:
        """Hold lease `name` until `until`, unless another holder's lease is still valid at `now`.

        A row (PartitionKey "lease", RowKey `name`) written with conditional operations only, so
        two contenders never both win. An expired lease is taken over, and the previous holder
        reported in `taken_over` (with its row in `previous`) so the caller can record what died.
        """
        entity = {"PartitionKey": "lease", "RowKey": name, "holder": holder, "expires": until, **facts}
        row = self.insert_if_absent(table, entity)
        if row is not None:
            return Lease(name, holder, until, acquired=True, etag=row.etag)
        current = self.get(table, "lease", name)
        if current is None:  # released in between: try once more
            row = self.insert_if_absent(table, entity)
            if row is not None:
                return Lease(name, holder, until, acquired=True, etag=row.etag)
            current = self.get(table, "lease", name)
            if current is None:
                raise StorageError(f"lease {name} is changing too fast to acquire", outage=True)
        expires: datetime = current["expires"]
        if current["holder"] == holder or expires <= now:
            updated = self.update_if_match(table, entity, current.etag, replace=True)
            if updated is not None:
                previous = None if current["holder"] == holder else str(current["holder"])
                return Lease(
                    name,
                    holder,
                    until,
                    acquired=True,
                    etag=updated.etag,
                    taken_over=previous,
                    previous=current.entity if previous else None,
                )
            current = self.get(table, "lease", name) or current
        return Lease(name, str(current["holder"]), current["expires"], acquired=False)

    def release(self, table: str, lease: Lease) -> bool:
        """Give a held lease back (only if still ours); False when it had been taken over."""
        if not lease.acquired or not lease.etag:
            return False
        return self.delete(table, "lease", lease.name, etag=lease.etag)

    # -- queues and blobs ----------------------------------------------------------------------

    def enqueue(self, queue: str, body: str | bytes | Mapping[str, Any], *, delay_seconds: int = 0) -> str:
        """Send one message (dicts as JSON), visible after `delay_seconds`; the message id."""
        if isinstance(body, Mapping):
            body = json.dumps(dict(body), separators=(",", ":"))
        data = body.encode() if isinstance(body, str) else body
        client = self.queue(queue)
        with self._mapped(f"enqueue to {queue}"):
            message = client.send_message(data, visibility_timeout=delay_seconds or None)
        return str(message.id)

    def put_blob(
        self, container: str, name: str, data: bytes, *, content_type: str = "application/json"
    ) -> None:
        """Write (or overwrite) one blob."""
        client = self.container(container)
        with self._mapped(f"write blob {container}/{name}"):
            client.upload_blob(
                name, data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
            )

    def get_blob(self, container: str, name: str) -> bytes | None:
        """A blob's bytes, or None when it does not exist."""
        client = self.container(container)
        try:
            return bytes(client.download_blob(name).readall())
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise storage_error(exc, f"read blob {container}/{name}") from exc

    def delete_blob(self, container: str, name: str) -> None:
        """Delete one blob if it exists."""
        client = self.container(container)
        try:
            client.delete_blob(name)
        except ResourceNotFoundError:
            return
        except AzureError as exc:
            raise storage_error(exc, f"delete blob {container}/{name}") from exc

    def close(self) -> None:
        """Close every client (their connection pools)."""
        with self._lock:
            for service in self._services.values():
                close = getattr(service, "close", None)
                if close is not None:
                    close()
            self._services.clear()
            self._tables.clear()
            self._containers.clear()
            self._queues.clear()
