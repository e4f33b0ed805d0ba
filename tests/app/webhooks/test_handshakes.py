"""Each sender's handshake through function_app: Graph and Event Grid validation, CloudEvents OPTIONS."""

from __future__ import annotations

import json
import sys
from urllib.parse import quote

import azure.functions as func
import pytest

import function_app
from tests.devstack.support import http_context


def _request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    params: dict[str, str] | None = None,
) -> func.HttpRequest:
    return func.HttpRequest(
        method, url, headers=headers or {}, params=params or {}, route_params={}, body=body
    )


@pytest.mark.parametrize(
    "token",
    [
        "Validation: Testing client application reachability for subscription Request-Id: 8c4f5f8e",
        "a+b/c=d&e?f",
        "ünïcødé ✓",
    ],
)
def test_graph_validation_echoes_the_decoded_token_as_text(token: str) -> None:
    """?validationToken= (URL-encoded on the wire, decoded by the host) comes back 200 text/plain."""
    url = f"http://localhost/api/webhooks/graph?validationToken={quote(token)}"
    response = function_app.webhooks_graph(
        _request("POST", url, params={"validationToken": token}), http_context()
    )
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_body().decode("utf-8") == token


def test_graph_validation_does_no_key_vault_storage_or_sdk_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no Key Vault, storage or identity configured, the handshake answers, loading no SDK."""
    for name in ("KEY_VAULT_URL", "AzureWebJobsStorage", "IDENTITY_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    before = {
        m for m in sys.modules if m.startswith(("azure.storage", "azure.data", "azure.keyvault", "jwt"))
    }
    response = function_app.webhooks_graph(
        _request(
            "POST",
            "http://localhost/api/webhooks/graph?validationToken=abc",
            params={"validationToken": "abc"},
        ),
        http_context(),
    )
    assert response.status_code == 200
    after = {m for m in sys.modules if m.startswith(("azure.storage", "azure.data", "azure.keyvault", "jwt"))}
    assert after == before


def test_event_grid_subscription_validation_is_200_with_the_code() -> None:
    """aeg-event-type SubscriptionValidation is answered 200 (not 202) with {"validationResponse": code}."""
    event = {
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": "/subscriptions/xxx/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
        "subject": "",
        "data": {
            "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
            "validationUrl": "https://example/validate",
        },
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2026-12-01T19:37:48.1000000Z",
        "metadataVersion": "1",
        "dataVersion": "1",
    }
    response = function_app.webhooks_eventgrid(
        _request(
            "POST",
            "http://localhost/api/webhooks/eventgrid",
            headers={"Content-Type": "application/json", "aeg-event-type": "SubscriptionValidation"},
            body=json.dumps([event]).encode(),
        ),
        http_context(),
    )
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


def test_cloudevents_options_handshake() -> None:
    """OPTIONS with WebHook-Request-Origin answers 200 with the origin allowed, a rate and Allow: POST."""
    response = function_app.webhooks_eventgrid(
        _request(
            "OPTIONS",
            "http://localhost/api/webhooks/eventgrid",
            headers={"WebHook-Request-Origin": "eventgrid.azure.net", "WebHook-Request-Rate": "100"},
        ),
        http_context(),
    )
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert response.headers["WebHook-Allowed-Rate"] == "*"
    assert response.headers["Allow"] == "POST"


def test_cloudevents_options_without_origin_is_400_problem() -> None:
    """OPTIONS without WebHook-Request-Origin is a 400 problem+json, not a 500."""
    response = function_app.webhooks_eventgrid(
        _request("OPTIONS", "http://localhost/api/webhooks/eventgrid"), http_context()
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
