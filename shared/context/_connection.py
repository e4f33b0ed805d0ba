"""One connection's entry in the context report: who it is, what its tokens grant, what is wrong.

Each resource the code requires (and always Graph) costs one `token()`; the connection caches
tokens, so repeated reports make no network call until a token nears expiry. The tokens come
first: they load the connection's Key Vault material, whose facts (`conn.facts`, no I/O) follow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from shared.config import CredentialKind
from shared.context._diagnosis import diagnose_error, diagnose_missing_roles
from shared.context._facts import to_json
from shared.context._rotation import RotationFacts
from shared.context._rotation import check as check_rotation
from shared.context._words import auth_type, environment, resource_display_name, token_credential_type
from shared.context.declarations import PROBE_ROLE
from shared.identity import ConnectionFacts, Token
from shared.permissions import GRAPH, compare

# A certificate closer than this to its notAfter makes the connection "degraded".
EXPIRY_WARNING_DAYS = 30


class ConnectionLike(Protocol):
    """The part of shared.identity.Connection the report uses."""

    name: str
    kind: CredentialKind

    def token(self, resource: str) -> Token: ...

    @property
    def facts(self) -> ConnectionFacts: ...


def iso_utc(epoch_seconds: float) -> str:
    """`2026-11-23T10:00:00Z` for an epoch time."""
    moment = dt.datetime.fromtimestamp(epoch_seconds, dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def _resource_entry(token: Token, required: Mapping[str, tuple[str, ...]]) -> dict[str, object]:
    claims: Mapping[str, Any] = token.claims
    roles = [str(r) for r in claims.get("roles") or []]
    scopes = str(claims.get("scp") or "").split()
    diff = compare(roles or scopes, required)
    return {
        "roles": list(diff.granted) if roles else [],
        "scopes": scopes,
        "required": {role: list(by) for role, by in diff.required.items()},
        "missing": list(diff.missing),
        "unused": list(diff.unused),
        "tokenExpiresOn": iso_utc(token.expires_on),
    }


def evaluate_connection(
    conn: ConnectionLike,
    requirements: Mapping[str, Mapping[str, tuple[str, ...]]],
    probe: Callable[[ConnectionLike, Token], Mapping[str, object]] | None = None,
    rotation: Callable[[ConnectionFacts], RotationFacts | None] | None = None,
) -> dict[str, object]:
    """The report entry of one connection; never raises (a failure is `status: error` + diagnosis).

    `rotation` gives the connection's rotation facts (shared.context._rotation); without it the
    certificate is judged by EXPIRY_WARNING_DAYS alone.
    """
    entry: dict[str, object] = {"name": conn.name, "credential": conn.kind.value, "status": "ok"}
    warnings: list[str] = []
    resources: dict[str, dict[str, object]] = {}
    failure: BaseException | None = None
    graph_token: Token | None = None
    try:
        for resource in [GRAPH, *sorted(r for r in requirements if r != GRAPH)]:
            token = conn.token(resource)
            resources[resource] = _resource_entry(token, requirements.get(resource, {}))
            if resource == GRAPH:
                graph_token = token
                if probe is not None:
                    resources[resource]["probe"] = _probe(conn, token, probe, entry)
    except Exception as exc:  # noqa: BLE001 - one broken connection must not break the report
        failure = exc
    # Facts after the tokens: the material they loaded (certificate, versions, object id) shows.
    facts = conn.facts
    entry.update(_identity_facts(facts, conn.kind, graph_token))
    rotated = rotation(facts) if rotation is not None else None
    if rotated is not None:
        entry["rotation"] = to_json(rotated)
    if failure is not None:
        entry["status"] = "error"
        entry["diagnosis"] = diagnose_error(failure)
    else:
        entry["resources"] = resources
        entry["tokenExpiresOn"] = min(str(r["tokenExpiresOn"]) for r in resources.values())
        _check(entry, resources, warnings, rotated)
    entry["warnings"] = warnings
    return entry


def _probe(
    conn: ConnectionLike,
    token: Token,
    probe: Callable[[ConnectionLike, Token], Mapping[str, object]],
    entry: dict[str, object],
) -> dict[str, object]:
    """Ask Graph itself when the token may read the organization; else say why not."""
    if compare(token.claims.get("roles") or [], {PROBE_ROLE: ("probe",)}).missing:
        return {"skipped": f"the token lacks {PROBE_ROLE}"}
    answer = dict(probe(conn, token))
    if answer.get("tenantDisplayName"):
        entry["tenantDisplayName"] = answer["tenantDisplayName"]
    return answer


def _identity_facts(facts: ConnectionFacts, kind: CredentialKind, graph: Token | None) -> dict[str, object]:
    """The facts, serialized once, and the words PowerShell users know."""
    out: dict[str, object] = to_json(facts)
    claims: Mapping[str, Any] = graph.claims if graph is not None else {}
    # A managed identity has no configured tenant: its token says which one it is in.
    out["tenantId"] = facts.tenant_id or claims.get("tid")
    out["servicePrincipalObjectId"] = claims.get("oid")
    out["authType"] = auth_type(kind)
    out["tokenCredentialType"] = token_credential_type(kind, facts.managed_identity.type)
    out["environment"] = environment(facts.cloud)
    # Get-MgContext's Scopes: what the Graph token grants (app roles for app-only tokens).
    out["scopes"] = sorted({*(claims.get("roles") or []), *str(claims.get("scp") or "").split()})
    return out


def _check(
    entry: dict[str, object],
    resources: Mapping[str, Any],
    warnings: list[str],
    rotated: RotationFacts | None = None,
) -> None:
    """Degrade the entry for missing roles and a certificate near or past its expiry."""
    for resource, facts in resources.items():
        if facts["missing"]:
            entry["status"] = "degraded"
            entry.setdefault(
                "diagnosis",
                diagnose_missing_roles(
                    str(entry["credential"]),
                    resource,
                    facts["missing"],
                    client_id=_str_or_none(entry.get("clientId")),
                    principal_id=_str_or_none(entry.get("servicePrincipalObjectId")),
                ),
            )
            warnings.append(f"{resource_display_name(resource)}: missing {', '.join(facts['missing'])}")
    if rotated is not None and rotated.days_left is not None:
        # The rotation job looks after it: degraded only when it is close and not rotated.
        overdue = check_rotation(rotated, warnings)
        if overdue is not None:
            entry["status"] = "degraded"
            entry.setdefault("diagnosis", overdue)
            warnings.append(str(overdue["problem"]))
        return
    cert = entry.get("certificate")
    days = cert.get("daysLeft") if isinstance(cert, Mapping) else None
    if isinstance(days, int | float) and days < EXPIRY_WARNING_DAYS:
        entry["status"] = "degraded"
        warnings.append(f"certificate expires in {int(days)} day(s): renew it in Key Vault")


def _str_or_none(value: object) -> str | None:
    return str(value) if value else None
