"""Shared by the context tests: the sample connections, the in-process call, request counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.functions as func
import requests

import function_app
from devstack.offline_tenant import OfflineTenant

ROOT = Path(__file__).resolve().parents[3]
TENANT_ID = "434b7530-0ab7-490d-b439-d97439cdf1c4"
APP_ID = "316b4b46-544f-4d74-aec8-701c7e328ddb"
MI_CLIENT_ID = "eae93b2c-b513-4468-a36e-aaf06544a6c2"
MI_OBJECT_ID = "d171ade5-6abf-4b05-8949-3b62e75cacb9"
APP_ROLES = [
    "Application.Read.All",
    "Group.Read.All",
    "GroupMember.ReadWrite.All",
    "Organization.Read.All",
    "User.Read.All",
    "User.RevokeSessions.All",
]
MI_ROLES = ["Organization.Read.All", "User.Read.All"]
KINDS = {
    "graph_mi": "managed-identity",
    "graph_cert": "certificate",
    "graph_secret": "client-secret",
    "graph_federated": "federated-identity",
    "graph_kvkey": "keyvault-key",
}


def sample_connections() -> dict[str, str]:
    """The CONNECTIONS__* values of local.settings.sample.json."""
    values: dict[str, str] = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    return {k: v for k, v in values.items() if k.startswith("CONNECTIONS__")}


def call_context(query: str = "") -> tuple[int, str, Any]:
    """Invoke the route's handler in-process; return status, media type and parsed body."""
    params = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    req = func.HttpRequest(
        "GET",
        f"http://localhost/api/context{'?' + query if query else ''}",
        headers={},
        params=params,
        body=b"",
    )
    resp = function_app.context(req)
    return resp.status_code, str(resp.mimetype), json.loads(resp.get_body())


def request_counts(devstack: OfflineTenant, session: requests.Session) -> dict[str, int]:
    """Total requests each emulator has served (its control endpoint)."""
    return {
        name: int(session.get(f"{server.url}/_devstack/requests", timeout=5).json()["total"])
        for name, server in devstack.servers.items()
    }
