"""Built-in job `secret-rotation`: client secrets that renew and retire themselves.

For each client-secret connection (JOB_SECRET_ROTATION_CONNECTION(S), else every configured
one), one run moves the secret one step further; every step can be repeated, because the state
is what Key Vault and the app registration hold (docs/identity.md, "Secret rotation"):

1. `read`: the secret's newest Key Vault version (one read, which the connection's own Graph
   token then uses too) and the app's `passwordCredentials`. The version says which password it
   holds by its `keyId` tag (versions this job writes), else by the password's hint (the first
   three characters Graph shows).
2. `removePassword` of orphans: a password this job added for this secret (display name
   `secret-rotation <secret name> <date>`) that no version holds was added by a run that died
   before `store`; nobody knows its value, so it goes.
3. `addPassword`: the held password has DAYS (default 30) or fewer left →
   `POST /applications/{id}/addPassword` (https://learn.microsoft.com/graph/api/application-addpassword).
4. `store`: the new value as a new version of the same secret, tagged `keyId` (the new
   password) and `replaces` (the old one). The value lives only in memory between 3 and 4.
5. `switch`: after a `store`, this instance reads the secret again (proof that Key Vault serves
   the new version) and asks Entra for a token with it; without one, the read of step 1 is that
   proof. Other instances pick it up at their next Key Vault check, or at Entra's first refusal.
6. `removePassword` of the replaced password, once GRACE_HOURS (default 24) have passed since
   the new one's start, and only after a token with the new one succeeded.

The old secret keeps working until step 6, so tokens never fail. A failed step raises an error
naming it (`rotation:addPassword` ...). Settings: JOB_SECRET_ROTATION_SCHEDULE (default
`0 45 3 * * *`), _DAYS, _GRACE_HOURS, _VALIDITY_DAYS (default 180), _CONNECTION(S). Unlike
addKey, addPassword needs a permission even on the app itself: Graph Application.ReadWrite.OwnedBy
with the app's service principal an owner of its registration (or Application.ReadWrite.All).
Vault: Key Vault Secrets Officer on the secret, for the app's managed identity. Because of both,
the job is off until JOB_SECRET_ROTATION_ENABLED=true turns it on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.errors import ConfigurationError
from shared.jobs._context import JobContext
from shared.jobs._declare import job, setting_name
from shared.jobs.builtin.certificate_rotation import RotationStepFailed, rotate_each, step

NAME = "secret-rotation"
DEFAULT_DAYS = 30
DEFAULT_GRACE_HOURS = 24
# Off by default; infra's rotateSecrets parameter sets it (with the vault role the job needs).
ENABLED_SETTING = "JOB_SECRET_ROTATION_ENABLED"
DEFAULT_VALIDITY_DAYS = 180  # Microsoft recommends secrets shorter than 12 months
DISPLAY_PREFIX = "secret-rotation"  # + the secret's name: marks the passwords this job adds
STORE_FORBIDDEN = (
    "Storing the new secret version needs 'Key Vault Secrets Officer' for the app's identity on the "
    "secret; the deployment does not grant it (docs/contract.md, Secret rotation)."
)


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _setting_number(ctx: JobContext, suffix: str, default: float) -> float:
    raw = ctx.setting(suffix, str(default)) or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigurationError(f"{setting_name(NAME, suffix)} must be a non-negative number, not {raw!r}.")
    return value


def rotate_secret(ctx: JobContext, name: str) -> dict[str, Any]:
    """Move connection `name`'s client secret one rotation further; what was done (no secret)."""
    from shared.config import CredentialKind
    from shared.identity import connection

    conn = connection(name)
    if conn.kind is not CredentialKind.CLIENT_SECRET:
        raise ConfigurationError(f"Connection {name} is {conn.kind.value}; only client-secret rotates here.")
    credential = conn.vault_credential  # the connection's own: its Key Vault secret
    vault, secret_name, setting = credential.vault, credential.object_name, credential.setting_name
    days = _setting_number(ctx, "DAYS", DEFAULT_DAYS)
    grace = timedelta(hours=_setting_number(ctx, "GRACE_HOURS", DEFAULT_GRACE_HOURS))
    validity = timedelta(days=_setting_number(ctx, "VALIDITY_DAYS", DEFAULT_VALIDITY_DAYS))
    now = ctx.now()
    done: dict[str, Any] = {"connection": name, "secret": secret_name, "steps": []}

    with step("read", name, ctx, what="Secret"):
        # The newest version, read once: the connection loads it as its material (a cold instance
        # would read it for the Graph token below anyway), so the step and the token share a read.
        credential.reload()
        _, current = credential.current()
        app = conn.graph.get(
            f"/applications(appId='{credential.client_id}')", select=["id", "passwordCredentials"]
        )
        passwords = {str(p["keyId"]): p for p in app.get("passwordCredentials") or []}
    held = current.tags.get("keyId") or ""
    if held not in passwords:
        by_hint = [k for k, p in passwords.items() if p.get("hint") and current.value.startswith(p["hint"])]
        held = by_hint[0] if len(by_hint) == 1 else ""
    if not held:
        raise RotationStepFailed(
            f"Connection {name}: the current version of secret {secret_name} matches no password of "
            "the app (removed, or its hint is ambiguous).",
            step="rotation:read",
            hint="Add a password in the portal, store it as a new version of the secret tagged "
            "keyId=<its key id>, and run the job again.",
        )
    replaces = current.tags.get("replaces") or None

    stored_now = False
    mark = f"{DISPLAY_PREFIX} {secret_name} "  # this connection's passwords, not another's on the app
    for key_id, password in passwords.items():
        ours = str(password.get("displayName") or "").startswith(mark)
        if ours and key_id not in (held, replaces):
            with step("removePassword", name, ctx, what="Secret"):
                conn.graph.post(f"/applications/{app['id']}/removePassword", json={"keyId": key_id})
            done["steps"].append({"step": "removePassword", "keyId": key_id, "why": "orphan"})
            ctx.count("orphansRemoved")

    held_end = _when(passwords[held]["endDateTime"])
    held_start = _when(passwords[held]["startDateTime"])
    done["daysLeft"] = (held_end - now).days
    if held_end - now <= timedelta(days=days):
        with step("addPassword", name, ctx, what="Secret"):
            added = conn.graph.post(
                f"/applications/{app['id']}/addPassword",
                json={
                    "passwordCredential": {
                        "displayName": f"{mark}{now:%Y-%m-%d}",
                        "endDateTime": (now + validity).isoformat().replace("+00:00", "Z"),
                    }
                },
            )
            new_key = str(added["keyId"])
        done["steps"].append({"step": "addPassword", "keyId": new_key})
        ctx.count("added")
        with step("store", name, ctx, what="Secret", forbidden=STORE_FORBIDDEN):
            # endDateTime: the password's end, which /api/context shows without asking Graph.
            tags = {
                "keyId": new_key,
                "replaces": held,
                "endDateTime": str(added["endDateTime"]),
                "rotatedBy": NAME,
            }
            stored = vault.set_secret(
                secret_name,
                str(added.pop("secretText")),  # nowhere else: not in `done`, logs or the ledger
                tags=tags,
                content_type=current.content_type,
                setting=setting,
            )
        done["steps"].append({"step": "store", "version": stored.version})
        ctx.count("stored")
        replaces, held, stored_now = held, new_key, True
        held_start, held_end = _when(added["startDateTime"]), _when(added["endDateTime"])

    with step("switch", name, ctx, what="Secret"):
        if stored_now:
            # Read back, not taken from the write's answer: the proof that Key Vault serves the
            # new version; this instance uses it from now on. Without a store, step 1 read it.
            credential.reload()
        if credential.current()[1].tags.get("keyId", held) != held:
            raise RotationStepFailed(
                f"Key Vault's newest version of {secret_name} does not hold password {held}.",
                step="rotation:switch",
            )
        from shared.identity._connection import scope_for

        credential.fetch(scope_for("graph", conn.cloud))  # Entra accepts the new secret
    done["steps"].append({"step": "switch", "keyId": held})

    if replaces and replaces in passwords:
        if now < held_start + grace:
            done["steps"].append(
                {"step": "removePassword", "waiting": replaces, "after": (held_start + grace).isoformat()}
            )
        else:
            with step("removePassword", name, ctx, what="Secret"):
                conn.graph.post(f"/applications/{app['id']}/removePassword", json={"keyId": replaces})
            done["steps"].append({"step": "removePassword", "keyId": replaces})
            ctx.count("removed")
    done["keyId"] = held
    done["nextRotation"] = (held_end - timedelta(days=days)).isoformat()
    return done


def _connections(ctx: JobContext) -> list[str]:
    if ctx.connection_name:
        return [ctx.connection_name]
    from shared.config import get_settings

    settings = get_settings()
    return [n for n, c in sorted(settings.connections.items()) if c.credential.value == "client-secret"]


@job(
    NAME,
    schedule="0 45 3 * * *",
    roles={"Application.ReadWrite.OwnedBy"},
    timeout=timedelta(minutes=10),
    # Opt-in (JOB_SECRET_ROTATION_ENABLED=true): addPassword needs a Graph permission and vault
    # role (below) that least privilege does not give an app by default.
    enabled=False,
)
def secret_rotation(ctx: JobContext) -> dict[str, Any]:
    """Add, store, switch and retire the client secrets of client-secret connections."""
    return rotate_each(ctx, _connections(ctx), rotate_secret)


JOB = secret_rotation
