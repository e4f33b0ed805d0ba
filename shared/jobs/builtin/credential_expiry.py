"""Built-in job `credential-expiry`: secrets and certificates that expire soon or have expired.

Reads every app registration's and service principal's `passwordCredentials` and
`keyCredentials` (one `$top=999` page per 999 objects: the fewest requests Graph allows) and
the app's own Key Vault certificates, and reports those expiring within N days or already
expired. Optionally posts a summary to a Teams or Slack incoming webhook whose URL is a Key
Vault secret (the URL is a credential: it never sits in a setting).

Settings: JOB_CREDENTIAL_EXPIRY_SCHEDULE (default `0 0 6 * * *`), _CONNECTION(S), _DAYS
(default 30), _SERVICE_PRINCIPALS (default true), _KEY_VAULT (default KEY_VAULT_URL; `none`
to skip), _NOTIFY_SECRET (a secret name in that vault; unset: no notification). Graph role:
Application.Read.All. Vault roles (app identity): Key Vault Certificate User, Key Vault
Secrets User (for the notification secret).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.errors import ConfigurationError
from shared.jobs._context import JobContext
from shared.jobs._declare import job

SELECT = ["id", "appId", "displayName", "passwordCredentials", "keyCredentials"]
PAGE = 999  # Graph's largest page for directory objects
DEFAULT_DAYS = 30
NOTIFY_LINES = 20
_FALSE = {"0", "false", "no", "off", "none"}


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _days(ctx: JobContext) -> int:
    raw = ctx.setting("DAYS", str(DEFAULT_DAYS)) or str(DEFAULT_DAYS)
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if not 0 <= days <= 3650:
        raise ConfigurationError(f"JOB_CREDENTIAL_EXPIRY_DAYS must be 0-3650 days, not {raw!r}.")
    return days


def _state(end: datetime | None, now: datetime, horizon: datetime) -> str | None:
    if end is None:
        return None
    if end <= now:
        return "expired"
    return "expiring" if end <= horizon else None


def _scan(
    ctx: JobContext, path: str, source: str, now: datetime, horizon: datetime
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    items: list[dict[str, Any]] = []
    objects = credentials = 0
    graph = ctx.graph
    with graph.tracking() as usage:
        for obj in graph.pages(path, select=SELECT, top=PAGE):
            objects += 1
            for kind, field in (("password", "passwordCredentials"), ("certificate", "keyCredentials")):
                for cred in obj.get(field) or []:
                    credentials += 1
                    end = _when(cred.get("endDateTime"))
                    state = _state(end, now, horizon)
                    if state is None:
                        continue
                    items.append(
                        {
                            "source": source,
                            "objectId": obj.get("id"),
                            "appId": obj.get("appId"),
                            "displayName": obj.get("displayName"),
                            "kind": kind,
                            "keyId": cred.get("keyId"),
                            "credentialName": cred.get("displayName"),
                            "endDateTime": end.isoformat().replace("+00:00", "Z") if end else None,
                            "daysLeft": round((end - now).total_seconds() / 86400, 1) if end else None,
                            "state": state,
                        }
                    )
    ctx.count(source + "s", objects)
    ctx.count(source + "Credentials", credentials)
    return items, {
        "objects": objects,
        "credentials": credentials,
        "requests": usage.requests,
        "throttled": usage.throttled,
        "waitedSeconds": round(usage.waited_seconds, 3),
    }


def _vault_items(
    ctx: JobContext, url: str, now: datetime, horizon: datetime
) -> tuple[list[dict[str, Any]], int]:
    from shared.jobs.builtin._vault import list_certificates

    items = []
    certificates = list_certificates(url)
    for cert in certificates:
        state = _state(cert.expires, now, horizon)
        if state is None or not cert.enabled:
            continue
        items.append(
            {
                "source": "keyVault",
                "vault": url,
                "displayName": cert.name,
                "kind": "certificate",
                "thumbprint": cert.thumbprint,
                "endDateTime": cert.expires.isoformat().replace("+00:00", "Z") if cert.expires else None,
                "daysLeft": round((cert.expires - now).total_seconds() / 86400, 1) if cert.expires else None,
                "state": state,
            }
        )
    ctx.count("keyVaultCertificates", len(certificates))
    return items, len(certificates)


def _notify(ctx: JobContext, vault: str | None, report: dict[str, Any]) -> dict[str, Any]:
    secret = ctx.setting("NOTIFY_SECRET")
    if not secret:
        return {"sent": False, "reason": "JOB_CREDENTIAL_EXPIRY_NOTIFY_SECRET is not set"}
    if not report["items"]:
        return {"sent": False, "reason": "nothing expires in the window"}
    if not vault:
        raise ConfigurationError("JOB_CREDENTIAL_EXPIRY_NOTIFY_SECRET needs a vault: set KEY_VAULT_URL.")
    from shared.http import session
    from shared.jobs.builtin._vault import read_secret

    url = read_secret(vault, secret, setting="JOB_CREDENTIAL_EXPIRY_NOTIFY_SECRET")
    summary = report["summary"]
    lines = [
        f"credential-expiry: {summary['expired']} expired, {summary['expiring']} expiring within "
        f"{report['windowDays']} days (run {ctx.run.id})."
    ]
    for item in report["items"][:NOTIFY_LINES]:
        lines.append(f"- {item['state']}: {item['displayName']} {item['kind']} {item['endDateTime']}")
    if len(report["items"]) > NOTIFY_LINES:
        lines.append(f"... and {len(report['items']) - NOTIFY_LINES} more in the run's output.")
    response = session().post(url, json={"text": "\n".join(lines)}, timeout=(5, 15))
    if response.status_code >= 300:
        # The URL is a credential: never quote it; the status tells what happened.
        ctx.count("notificationFailed")
        return {"sent": False, "status": response.status_code}
    ctx.count("notificationsSent")
    return {"sent": True, "status": response.status_code}


@job(
    "credential-expiry",
    schedule="0 0 6 * * *",
    connection="graph",
    roles={"Application.Read.All"},
    timeout=timedelta(minutes=9),
    catch_up="once",
)
def credential_expiry(ctx: JobContext) -> dict[str, Any]:
    """Secrets and certificates of apps, service principals and the vault that expire soon or have."""
    days = _days(ctx)
    now = ctx.now()
    horizon = now + timedelta(days=days)
    items, apps = _scan(ctx, "/applications", "application", now, horizon)
    sources: dict[str, Any] = {"applications": apps}
    ctx.log("applications: %d read, %d credentials", apps["objects"], apps["credentials"])
    if (ctx.setting("SERVICE_PRINCIPALS", "true") or "true").lower() not in _FALSE:
        sp_items, sps = _scan(ctx, "/servicePrincipals", "servicePrincipal", now, horizon)
        items += sp_items
        sources["servicePrincipals"] = sps
    from shared.jobs.builtin._vault import vault_url

    setting = ctx.setting("KEY_VAULT")
    skip_vault = bool(setting) and (setting or "").lower() in _FALSE
    vault = vault_url(None if skip_vault else setting)
    if vault and not skip_vault:
        vault_items, count = _vault_items(ctx, vault, now, horizon)
        items += vault_items
        sources["keyVault"] = {"certificates": count}
    items.sort(key=lambda i: (i["endDateTime"] or "", i["displayName"] or ""))
    report: dict[str, Any] = {
        "asOf": now.isoformat().replace("+00:00", "Z"),
        "windowDays": days,
        "summary": {
            "expired": sum(i["state"] == "expired" for i in items),
            "expiring": sum(i["state"] == "expiring" for i in items),
            "items": len(items),
        },
        "sources": sources,
        "items": items,
    }
    ctx.count("expired", report["summary"]["expired"])
    ctx.count("expiring", report["summary"]["expiring"])
    report["notification"] = _notify(ctx, vault, report)
    ctx.log(
        "%d expired, %d expiring within %d days",
        report["summary"]["expired"],
        report["summary"]["expiring"],
        days,
    )
    return report


JOB = credential_expiry
