"""Graph change notifications, pure: the validation handshake, the batch, `clientState`, event ids.

Microsoft's "Receive change notifications through webhooks" (learn.microsoft.com/graph/
change-notifications-delivery-webhooks): a new subscription's notification URL (and its
lifecycle URL) gets `POST ?validationToken=...`, answered within 10 s with 200 `text/plain`
and the decoded token, with no other work. Notifications arrive as `{"value": [...],
"validationTokens": [...]}`; each carries the subscription's `clientState`, compared in
constant time. Delivery is at least once and `id` is optional, so an event's id is the
notification's `id` when present, else a digest of what identifies the change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.webhooks._refusal import Refused, bad_request, unauthorized

MAX_VALIDATION_TOKEN = 4096
MAX_CLIENT_STATE = 128  # Graph's limit on a subscription's clientState
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
# Fields that never reach storage: the shared secret and the tokens (checked at the door).
SECRET_FIELDS = frozenset({"clientState"})


def validation_token(params: Mapping[str, str]) -> str | None:
    """The handshake's token (already URL-decoded by the host), or None for a notification POST."""
    token = params.get("validationToken")
    if token is None:
        return None
    if len(token) > MAX_VALIDATION_TOKEN:
        raise bad_request(f"validationToken is longer than {MAX_VALIDATION_TOKEN} characters.")
    return token


@dataclass(frozen=True)
class GraphBatch:
    """A parsed notification POST: the notifications and the batch's validation tokens."""

    notifications: list[dict[str, Any]]
    validation_tokens: list[str]

    @property
    def rich(self) -> bool:
        return any("encryptedContent" in n for n in self.notifications)


def parse_batch(body: bytes) -> GraphBatch:
    """Decode `{"value": [...], "validationTokens": [...]}`; Refused(400) for anything else."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The body is not JSON.") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), list) or not doc["value"]:
        raise bad_request('The body must be {"value": [notification, ...]} with at least one notification.')
    notifications = doc["value"]
    for n in notifications:
        if not isinstance(n, dict):
            raise bad_request("Each notification must be a JSON object.")
        if not isinstance(n.get("subscriptionId"), str) or not n["subscriptionId"]:
            raise bad_request("A notification has no subscriptionId.")
        if "lifecycleEvent" in n:
            if n["lifecycleEvent"] not in LIFECYCLE_EVENTS:
                raise bad_request(
                    f"Unknown lifecycleEvent; expected one of {', '.join(sorted(LIFECYCLE_EVENTS))}."
                )
        elif not isinstance(n.get("changeType"), str) or not isinstance(n.get("resource"), str):
            raise bad_request("A change notification needs changeType and resource.")
    tokens = doc.get("validationTokens") or []
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise bad_request("validationTokens must be a list of strings.")
    return GraphBatch(notifications=notifications, validation_tokens=tokens)


def client_state_matches(presented: object, accepted: list[str]) -> bool:
    """Constant-time comparison of a notification's clientState with every accepted value."""
    if not isinstance(presented, str) or len(presented) > MAX_CLIENT_STATE:
        return False
    ok = False
    for value in accepted:
        ok |= hmac.compare_digest(presented.encode("utf-8"), value.encode("utf-8"))
    return ok


def check_client_states(batch: GraphBatch, accepted: list[str]) -> None:
    """Every notification must carry an accepted clientState; otherwise the whole batch is refused.

    Refusing the batch (not just the odd notification) keeps the rule simple: Graph sends one
    subscription's clientState per notification, and a mismatch means a forged request or a
    secret rotated under a live subscription, both of which an operator must look at.
    """
    if not accepted:
        raise Refused(503, "webhook-configuration", "No clientState secret is configured for Graph.")
    for n in batch.notifications:
        if not client_state_matches(n.get("clientState"), accepted):
            raise unauthorized("A notification's clientState does not match the configured secret.")


def event_id(notification: Mapping[str, Any]) -> str:
    """The notification's id, or a digest of subscription, change, resource and resource data."""
    given = notification.get("id")
    if isinstance(given, str) and given:
        return given[:200]
    identity = {
        k: notification.get(k)
        for k in (
            "subscriptionId",
            "changeType",
            "lifecycleEvent",
            "resource",
            "resourceData",
            "subscriptionExpirationDateTime",
        )
    }
    if "encryptedContent" in notification:
        identity["data"] = (notification.get("encryptedContent") or {}).get("data")
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    return "sha256-" + digest[:40]


def stored_form(notification: Mapping[str, Any]) -> dict[str, Any]:
    """The notification as it may be stored: without clientState (a shared secret)."""
    return {k: v for k, v in notification.items() if k not in SECRET_FIELDS}
