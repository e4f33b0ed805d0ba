"""Helpers for the Graph emulator tests: tokens, error bodies, subscription bodies."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from devstack.offline_tenant import OfflineTenant

GRAPH = "https://graph.microsoft.com"
# Graph's own delivery settings (devstack/graph/notifications.py), restored after each test.
GRAPH_DELIVERY = {
    "batchWindowMs": 200,
    "timeoutS": 3.0,
    "retryBaseS": 60.0,
    "retryMaxS": 3600.0,
    "retryForS": 14400.0,
    "duplicates": 0,
    "tamper": None,
}


def app_token(devstack: OfflineTenant, roles: list[str] | None = None, **kwargs: Any) -> str:
    """A Graph token for the seeded app `entra-automation` (its granted roles unless `roles`)."""
    tenant = devstack.tenant
    app = tenant.app_by_name(kwargs.pop("app", "entra-automation"))
    assert app is not None
    if roles is None:
        from devstack.tenant.models import GRAPH_APP_ID

        roles = sorted(tenant.roles_for(app.sp_object_id, GRAPH_APP_ID))
    token, _ = tenant.issuer.issue(app.principal(), kwargs.pop("audience", GRAPH), roles=roles, **kwargs)
    return token


def user_token(devstack: OfflineTenant, scopes: list[str]) -> str:
    """A delegated Graph token for Adele Vance through `entra-automation`."""
    tenant = devstack.tenant
    app = tenant.app_by_name("entra-automation")
    user = tenant.user(f"adele.vance@{tenant.default_domain}")
    assert app is not None
    assert user is not None
    token, _ = tenant.issuer.issue(user.principal(), GRAPH, scopes=scopes, azp=app.app_id)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error(response: requests.Response) -> tuple[int, str, str]:
    """(status, Graph code, message) of a Graph error answer, checking the innerError shape."""
    body = response.json()["error"]
    assert set(body["innerError"]) == {"date", "request-id", "client-request-id"}
    return response.status_code, body["code"], body["message"]


DENIED = (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def in_minutes(minutes: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def subscription(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "changeType": "updated",
        "notificationUrl": url,
        "resource": "users",
        "expirationDateTime": in_minutes(60),
        "clientState": "s3cret-state",
        **overrides,
    }


@dataclass
class Subscriber:
    """A tiny webhook receiver on 127.0.0.1 (plain http, as the local Functions host)."""

    mode: str = "echo"  # "echo" | "wrong" | "slow"
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    # Status codes to answer notifications with, one per delivery, then 202 (e.g. [500, 500]).
    answers: list[int] = field(default_factory=list)
    # Seconds to wait before answering a notification (one per delivery, then 0).
    delays: list[float] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until `count` notification posts have arrived; the posts."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)
