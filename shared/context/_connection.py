"""One connection's entry in the context report: who it is, what its tokens grant, what is wrong.

Each resource the code requires (and always Graph) costs one `get_token()`; the connection
caches tokens, so repeated reports make no network call until a token nears expiry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from shared.context._diagnosis import diagnose_error, diagnose_missing_roles
from shared.context._words import auth_type, environment, resource_display_name, token_credential_type
from shared.permissions import GRAPH, compare
from shared.redaction import redact

# The Graph probe (_probe.py) reads the organization, which needs this role.
PROBE_ROLE = "Organization.Read.All"

# A certificate closer than this to its notAfter makes the connection "degraded".
EXPIRY_WARNING_DAYS = 30

# Keys of describe() (at any depth) that are never shown, whatever the identity core adds later.
_NEVER_SHOWN = ("private", "password", "assertion", "pfx", "pem", "accesstoken", "secretvalue", "secrettext")
_NEVER_SHOWN_EXACT = frozenset({"value", "token", "key_material", "jwk"})


class TokenLike(Protocol):
    """What the report reads from a TokenInfo (shared.connections)."""

    @property
    def expires_on(self) -> int: ...
    @property
    def claims(self) -> Mapping[str, Any]: ...


class ConnectionLike(Protocol):
    """The part of shared.connections.Connection the report uses."""

    name: str
    kind: str

    def get_token(self, resource_or_scope: str) -> Any: ...
    def describe(self) -> Mapping[str, object]: ...


def iso_utc(epoch_seconds: float) -> str:
    """`2026-11-23T10:00:00Z` for an epoch time."""
    moment = dt.datetime.fromtimestamp(epoch_seconds, dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def shown(value: object) -> object:
    """describe() output fit to show: credential-like keys dropped, strings redacted."""
    if isinstance(value, Mapping):
        return {
            str(k): shown(v)
            for k, v in value.items()
            if str(k).lower() not in _NEVER_SHOWN_EXACT and not any(n in str(k).lower() for n in _NEVER_SHOWN)
        }
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _certificate(described: Mapping[str, object]) -> dict[str, object] | None:
    cert = described.get("certificate")
    if not isinstance(cert, Mapping):
        return None
    out: dict[str, object] = dict(shown(cert))  # type: ignore[call-overload]
    # "version" alone is ambiguous next to notBefore/notAfter: it is the Key Vault object version.
    if "version" in out:
        out["keyVaultVersion"] = out.pop("version")
    return out


def _managed_identity(described: Mapping[str, object], kind: str, oid: object) -> dict[str, object] | None:
    mi = described.get("managedIdentity")
    if not isinstance(mi, Mapping):
        return None
    raw_type = str(mi.get("type") or "")
    out: dict[str, object] = {
        "type": "system-assigned" if "system" in raw_type.lower() else "user-assigned",
        "clientId": mi.get("clientId"),
        # A managed identity's token is issued to the identity itself: its `oid` is the object id.
        "objectId": mi.get("objectId") or (oid if kind == "managed-identity" else None),
    }
    return out


def _object_id_unknown(described: Mapping[str, object]) -> bool:
    mi = described.get("managedIdentity")
    return isinstance(mi, Mapping) and not mi.get("objectId")


def _resource_entry(token: Any, required: Mapping[str, tuple[str, ...]]) -> dict[str, object]:
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
    scope_for: Callable[[str], str],
    probe: Callable[[str, Any], Mapping[str, object]] | None = None,
) -> dict[str, object]:
    """The report entry of one connection; never raises (a failure is `status: error` + diagnosis)."""
    entry: dict[str, object] = {"name": conn.name, "credential": conn.kind, "status": "ok"}
    warnings: list[str] = []
    try:
        described = conn.describe()
        entry.update(_identity_facts(conn, described))
        resources: dict[str, dict[str, object]] = {}
        oid: object = None
        for resource in [GRAPH, *sorted(r for r in requirements if r != GRAPH)]:
            token = conn.get_token(scope_for(resource))
            oid = oid or token.claims.get("oid")
            # A managed identity has no configured tenant: its token says which one it is in.
            entry["tenantId"] = entry.get("tenantId") or token.claims.get("tid")
            resources[resource] = _resource_entry(token, requirements.get(resource, {}))
            if resource == GRAPH:
                graph_token = token
                if probe is not None:
                    resources[resource]["probe"] = _probe(conn, token, probe, entry)
        entry["servicePrincipalObjectId"] = oid
        if _object_id_unknown(described):
            # The tokens above may have been the first use of the identity (a federated assertion):
            # describe() now knows its object id from the cached token, at no network cost.
            described = conn.describe()
        entry["managedIdentity"] = _managed_identity(described, conn.kind, oid)
        entry["resources"] = resources
        entry["tokenExpiresOn"] = min(str(r["tokenExpiresOn"]) for r in resources.values())
        # Get-MgContext's Scopes: what the Graph token grants (app roles for app-only tokens).
        graph_claims = graph_token.claims
        entry["scopes"] = sorted(
            {*(graph_claims.get("roles") or []), *str(graph_claims.get("scp") or "").split()}
        )
        _check(entry, resources, warnings)
    except Exception as exc:  # noqa: BLE001 - one broken connection must not break the report
        entry["status"] = "error"
        entry["diagnosis"] = diagnose_error(exc)
    entry["warnings"] = warnings
    return entry


def _probe(
    conn: ConnectionLike,
    token: Any,
    probe: Callable[[str, Any], Mapping[str, object]],
    entry: dict[str, object],
) -> dict[str, object]:
    """Ask Graph itself when the token may read the organization; else say why not."""
    if compare(token.claims.get("roles") or [], {PROBE_ROLE: ("probe",)}).missing:
        return {"skipped": f"the token lacks {PROBE_ROLE}"}
    answer = dict(probe(conn.name, token))
    if answer.get("tenantDisplayName"):
        entry["tenantDisplayName"] = answer["tenantDisplayName"]
    return answer


def _identity_facts(conn: ConnectionLike, described: Mapping[str, object]) -> dict[str, object]:
    mi = described.get("managedIdentity")
    mi_type = str(mi.get("type")) if isinstance(mi, Mapping) else None
    cloud = described.get("cloud")
    facts = {k: shown(v) for k, v in described.items() if k not in ("certificate", "managedIdentity", "name")}
    facts.update(
        {
            "authType": auth_type(conn.kind),
            "tokenCredentialType": token_credential_type(
                conn.kind, "system-assigned" if mi_type and "system" in mi_type.lower() else mi_type
            ),
            "cloud": cloud,
            "environment": environment(str(cloud) if cloud else None),
            "certificate": _certificate(described),
        }
    )
    return facts


def _check(entry: dict[str, object], resources: Mapping[str, Any], warnings: list[str]) -> None:
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
    cert = entry.get("certificate")
    days = cert.get("daysLeft") if isinstance(cert, Mapping) else None
    if isinstance(days, int | float) and days < EXPIRY_WARNING_DAYS:
        entry["status"] = "degraded"
        warnings.append(f"certificate expires in {int(days)} day(s): renew it in Key Vault")


def _str_or_none(value: object) -> str | None:
    return str(value) if value else None
