"""A small synchronous Microsoft Graph client on `requests`: paging, delta, `$batch`, retries.

    g = GraphClient(token=lambda: bearer, base_url="https://graph.microsoft.com", session=pooled)
    g.get("/users/{id}", select=["id", "displayName"])
    for user in g.pages("/users", select=["id", "displayName"], top=999): ...
    d = g.delta("/users/delta", select=["id"]); changes = list(d); keep(d.delta_link)
    answers = g.batch([BatchRequest("GET", f"/users/{i}") for i in ids])   # 20 per call, in order
    with g.tracking() as usage: ...   # requests, throttled, waited_seconds, resource_units

Applications get a client from their connection (`connection(name).graph`). Protocol notes,
with links to Microsoft's documentation: docs/graph.md.
"""

from __future__ import annotations

from shared.errors import GraphError, GraphTimeoutError
from shared.graph._batch import MAX_PER_BATCH, BatchRequest, BatchResponse
from shared.graph._client import RETRYABLE, RETRYABLE_WRITE, Delta, GraphClient
from shared.graph._usage import Usage

__all__ = [
    "MAX_PER_BATCH",
    "RETRYABLE",
    "RETRYABLE_WRITE",
    "BatchRequest",
    "BatchResponse",
    "Delta",
    "GraphClient",
    "GraphError",
    "GraphTimeoutError",
    "Usage",
]
