"""Fuzz the devstack-only control endpoints of every emulator: problem+json for every mistake."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from tests.devstack.fuzz.conftest import FuzzTenant
from tests.devstack.fuzz.support import (
    FUZZ,
    JSON_VALUES,
    METHODS,
    SEGMENT,
    Call,
    bodies,
    check,
    objects,
    problem_shape,
    send,
)

FAULT = objects(
    ["match", "status", "times", "retryAfter", "delayMs"],
    JSON_VALUES | st.sampled_from([-5, 0, 1, 429, 503, 600, 1e9, "(", ".*", float("nan")]),
)
CONTROL_FIELDS = objects(
    [
        "audience",
        "scopes",
        "expiresIn",
        "lifetime",
        "clientId",
        "value",
        "contentType",
        "tags",
        "subject",
        "exportable",
        "validDays",
        "expired",
        "notYetValid",
        "notBefore",
        "notAfter",
        "registerOnApp",
        "changeType",
        "resourceId",
        "lifecycleEvent",
    ],
    JSON_VALUES | st.sampled_from(["api://x", "CN=fuzz", "2026-01-01T00:00:00Z", "x" * 70, 10**12]),
)
ROLES = st.sampled_from(["Key Vault Reader", "Owner", "Key%20Vault%20Reader"]) | SEGMENT


@st.composite
def calls(draw: st.DrawFn, fuzz: FuzzTenant) -> tuple[str, Call]:
    emulator = draw(st.sampled_from(["identity", "entra", "keyvault", "graph"]))
    upn = fuzz.stack.tenant.users[0].user_principal_name
    paths = ["/_devstack/requests", "/_devstack/faults", "/_devstack/", "/_devstack/nope"]
    paths += {
        "entra": [f"/_devstack/users/{quote(upn)}/token", "/_devstack/users/nobody/token"],
        "keyvault": ["/_devstack/secrets/fuzz-s", "/_devstack/certificates/fuzz-c", "/_devstack/roles/x"],
        "graph": ["/_devstack/subscriptions", "/_devstack/subscriptions/x/notify"],
    }.get(emulator, [])
    path = draw(st.sampled_from(paths) | SEGMENT.map(lambda s: f"/_devstack/{s}"))
    if path.endswith("/roles/x"):
        path += "/" + draw(ROLES)
    body = draw(bodies(FAULT if path.endswith("faults") else CONTROL_FIELDS))
    return emulator, Call(draw(METHODS), path, [], {"Content-Type": "application/json"}, body)


@FUZZ
@given(data=st.data())
def test_fuzz_control_endpoints(fuzz: FuzzTenant, data: st.DataObject) -> None:
    """Generated control requests: no 5xx, problem+json for mistakes, no Python exception text."""
    emulator, call = data.draw(calls(fuzz))
    client = fuzz.client(emulator)
    try:
        status, headers, body = send(client, call)
        check(status, headers, body, shape=problem_shape, secrets=fuzz.secrets())
        if status >= 400 and body:
            assert headers["content-type"] == "application/problem+json"
    finally:
        client.delete("/_devstack/faults")  # a fault that was accepted must not reach other examples
