"""Built-in job `certificate-rotation`: certificates that renew, register and retire themselves.

For each certificate or keyvault-key connection (JOB_CERTIFICATE_ROTATION_CONNECTION(S), else
every configured one of those kinds), one run moves the certificate one step further, and
every step can be repeated safely (the state is what Key Vault and the app registration hold,
so a run that died half-way is finished by the next one):

1. `create`: the newest Key Vault version is within DAYS (default 30) of expiry → a new
   version with the same policy.
2. `addKey`: the newest version is not on the app → `POST /applications/{id}/addKey` with a
   proof JWT signed by a version that is on the app and valid (locally for an exportable
   certificate, by Key Vault's sign operation for a non-exportable key), as
   https://learn.microsoft.com/graph/application-rollkey-prooftoken describes.
3. `switch`: this instance loads the newest version now and asks Entra for a token with it;
   other instances pick it up on their next Key Vault check (or on Entra's first refusal).
4. `removeKey`: older versions still on the app, once GRACE_HOURS (default 24) have passed
   since the newest version's start, and only after a token with the newest one succeeded.

A failed step raises an error naming the step; the old certificate stays on the app, so
tokens keep working. A renewal that Key Vault's CA issuer has not issued within
ISSUANCE_WAIT_SECONDS (default 120) leaves the connection `pending`, not failed: the next run
waits on the same request and goes on from there. Settings: JOB_CERTIFICATE_ROTATION_SCHEDULE
(default `0 30 3 * * *`), _DAYS, _GRACE_HOURS, _ISSUANCE_WAIT_SECONDS, _CONNECTION(S). Graph
role: Application.Read.All (to read the app's own keyCredentials; addKey and removeKey on
itself need only the proof). Vault roles (the app's
identity): Key Vault Certificates Officer on the certificate (and Crypto User to sign with a
non-exportable key).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import AutomationError, CertificatePendingError, ConfigurationError
from shared.jobs._context import JobContext
from shared.jobs._declare import job

NAME = "certificate-rotation"
DEFAULT_DAYS = 30
DEFAULT_GRACE_HOURS = 24
# How long one run waits for Key Vault to issue a renewal: a self-signed one takes seconds; a CA
# issuer may take longer than a run should, and then the next run picks the certificate up.
DEFAULT_ISSUANCE_WAIT_S = 120
ISSUANCE_WAIT_MAX_S = 480  # within the job's 10-minute timeout
PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"  # Graph's documented proof audience
PROOF_LIFETIME_S = 600  # exp = nbf + 10 minutes, as Graph's documentation asks
ROTATING_KINDS = ("certificate", "keyvault-key")


@dataclass(frozen=True)
class Version:
    """One Key Vault certificate version: ids and its public certificate."""

    version: str
    key_id: str
    der: bytes
    thumbprint: str  # upper hex SHA-1 (what Graph shows as customKeyIdentifier)
    x5t: str
    not_before: datetime
    not_after: datetime


# Creating a certificate version needs more than reading one (docs/identity.md; infra/main.bicep
# grants it unless rotation is turned off).
CREATE_FORBIDDEN = (
    "Creating a certificate version needs 'Key Vault Certificates Officer' for the app's identity on "
    "the vault (infra/main.bicep grants it when certificate rotation is on)."
)


class RotationStepFailed(AutomationError):
    """A rotation step failed; `step` names it, the message says why (the cause is chained)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def proof_signing_input(app_object_id: str, x5t: str, now: float | None = None) -> bytes:
    """header.claims of an addKey/removeKey proof (RS256, x5t of the signing certificate)."""
    nbf = int(now if now is not None else time.time())
    header = {"alg": "RS256", "typ": "JWT", "x5t": x5t}
    claims = {"aud": PROOF_AUDIENCE, "iss": app_object_id, "nbf": nbf, "exp": nbf + PROOF_LIFETIME_S}
    return ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
    ).encode("ascii")


def version_facts(info: Any) -> Version:
    """Facts of a version, whatever its dates (an expired old version is still worth removing)."""
    import hashlib

    from cryptography import x509

    der = bytes(info.cer)
    cert = x509.load_der_x509_certificate(der)
    sha1 = hashlib.sha1(der, usedforsecurity=False).digest()
    return Version(
        version=info.version,
        key_id=info.key_id,
        der=der,
        thumbprint=sha1.hex().upper(),
        x5t=_b64url(sha1),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def signer(vault: Any, name: str, version: Version, *, kind: str, setting: str) -> Callable[[bytes], bytes]:
    """RS256 with `version`'s key: Key Vault signs for a keyvault-key, else its exported key (read once)."""
    if kind == "keyvault-key":
        import hashlib

        return lambda data: vault.sign_rs256(version.key_id, hashlib.sha256(data).digest(), setting=setting)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from shared.identity._certificate_material import load_certificate

    secret = vault.get_secret(name, setting=setting, version=version.version)
    key = serialization.load_pem_private_key(
        load_certificate(secret.value, secret.content_type).private_key_pem, None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def signed_proof(app_object_id: str, version: Version, sign: Callable[[bytes], bytes]) -> str:
    """An addKey/removeKey proof signed by `version` (its x5t names the signing certificate)."""
    unsigned = proof_signing_input(app_object_id, version.x5t)
    return unsigned.decode("ascii") + "." + _b64url(sign(unsigned))


def add_key_body(der: bytes, proof: str) -> dict[str, Any]:
    """The `application: addKey` body for a certificate (DER) and a proof JWT
    (https://learn.microsoft.com/graph/api/application-addkey)."""
    return {
        "keyCredential": {
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": base64.b64encode(der).decode("ascii"),
        },
        "passwordCredential": None,
        "proof": proof,
    }


# Called with (step, connection) after each step that completed: a seam for observers. The
# fault tests use it to ask for a token between steps and to kill the process after addKey.
step_hooks: list[Callable[[str, str], None]] = []


@contextmanager
def step(
    name: str, connection: str, ctx: JobContext, *, what: str = "Certificate", forbidden: str | None = None
) -> Iterator[None]:
    """Log the step; an AutomationError inside becomes RotationStepFailed naming it.

    `forbidden` is the hint for a 403: the role this step needs, which the generic Key Vault hint
    (the roles for reading) does not name.
    """
    ctx.log("%s: %s", connection, name)
    try:
        yield
    except AutomationError as exc:
        raise RotationStepFailed(
            f"{what} rotation of connection {connection}: step {name} failed: {exc.message}"
            + (f" (Graph/Key Vault code {exc.code})" if exc.code else ""),
            step=f"rotation:{name}",
            status=exc.status,
            code=exc.code,
            hint=forbidden if forbidden and exc.status == 403 else exc.hint,
            outage=exc.outage,
        ) from exc
    for hook in list(step_hooks):
        hook(name, connection)


def rotate(ctx: JobContext, name: str) -> dict[str, Any]:
    """Move connection `name`'s certificate one rotation further; what was done."""
    from shared.identity import connection

    conn = connection(name)
    if conn.kind.value not in ROTATING_KINDS:
        raise ConfigurationError(
            f"Connection {name} is {conn.kind.value}; only {', '.join(ROTATING_KINDS)} rotate."
        )
    credential = conn.vault_credential  # the connection's own: its Key Vault object and versions
    vault, cert_name, setting = credential.vault, credential.object_name, credential.setting_name
    days = int(ctx.setting("DAYS", str(DEFAULT_DAYS)) or DEFAULT_DAYS)
    grace = timedelta(
        hours=float(ctx.setting("GRACE_HOURS", str(DEFAULT_GRACE_HOURS)) or DEFAULT_GRACE_HOURS)
    )
    now = ctx.now()
    done: dict[str, Any] = {"connection": name, "certificate": cert_name, "steps": []}

    with step("read", name, ctx):
        app = conn.graph.get(
            f"/applications(appId='{credential.client_id}')", select=["id", "keyCredentials"]
        )
        on_app = {
            str(k.get("customKeyIdentifier") or "").upper(): str(k["keyId"])
            for k in app.get("keyCredentials") or []
            if k.get("customKeyIdentifier")
        }
        versions = sorted(
            (version_facts(v) for v in vault.certificate_versions(cert_name, setting=setting)),
            key=lambda v: v.not_before,
        )
    if not versions:
        raise RotationStepFailed(
            f"Key Vault has no certificate {cert_name} for connection {name}; run the bootstrap.",
            step="rotation:read",
        )
    newest = versions[-1]
    done["daysLeft"] = (newest.not_after - now).days

    def proof(version: Version) -> str:
        return signed_proof(
            str(app["id"]), version, signer(vault, cert_name, version, kind=conn.kind.value, setting=setting)
        )

    if newest.thumbprint in on_app and newest.not_after - now <= timedelta(days=days):
        wait = _issuance_wait(ctx)
        with step("create", name, ctx, forbidden=CREATE_FORBIDDEN):
            try:
                issued = vault.renew_certificate(cert_name, setting=setting, wait_s=wait)
            except CertificatePendingError as exc:
                # Not a failure: the request stays with Key Vault's issuer and the next run
                # registers the certificate (renew_certificate waits on it, never asks twice).
                done["steps"].append({"step": "create", "waiting": exc.issuer})
                done["pending"] = {"step": "rotation:create", "issuer": exc.issuer, "message": exc.message}
                return done
            newest = version_facts(issued)
            versions.append(newest)
        done["steps"].append({"step": "create", "version": newest.version, "thumbprint": newest.thumbprint})
        ctx.count("created")

    if newest.thumbprint not in on_app:
        valid = [v for v in versions[:-1] if v.thumbprint in on_app and v.not_before <= now < v.not_after]
        if not valid:
            raise RotationStepFailed(
                f"Connection {name}: no valid version of {cert_name} is on the app to sign the addKey proof.",
                step="rotation:addKey",
                hint="Run `python -m shared.certificates bootstrap` with the deployer's rights.",
            )
        with step("addKey", name, ctx):
            body = add_key_body(newest.der, proof(valid[-1]))
            added = conn.graph.post(f"/applications/{app['id']}/addKey", json=body) or {}
            on_app[newest.thumbprint] = str(added.get("keyId") or "")
        done["steps"].append(
            {"step": "addKey", "keyId": on_app[newest.thumbprint], "signedBy": valid[-1].thumbprint}
        )
        ctx.count("registered")

    with step("switch", name, ctx):
        credential.reload()  # this instance uses the newest version from now on
        if credential.version != newest.version:
            raise AutomationError(
                f"Key Vault still serves version {credential.version}, not {newest.version}."
            )
        from shared.identity._connection import scope_for

        credential.fetch(scope_for("graph", conn.cloud))  # Entra accepts the new key (a real token request)
    done["steps"].append({"step": "switch", "version": newest.version})

    for old in versions[:-1]:
        key_id = on_app.get(old.thumbprint)
        if key_id is None or old.thumbprint == newest.thumbprint:
            continue
        if now < newest.not_before + grace:
            done["steps"].append(
                {
                    "step": "removeKey",
                    "waiting": old.thumbprint,
                    "after": (newest.not_before + grace).isoformat(),
                }
            )
            continue
        with step("removeKey", name, ctx):
            conn.graph.post(
                f"/applications/{app['id']}/removeKey", json={"keyId": key_id, "proof": proof(newest)}
            )
        done["steps"].append({"step": "removeKey", "keyId": key_id, "thumbprint": old.thumbprint})
        ctx.count("removed")
    done["thumbprint"] = newest.thumbprint
    done["nextRotation"] = (newest.not_after - timedelta(days=days)).isoformat()
    return done


def _issuance_wait(ctx: JobContext) -> float:
    text = ctx.setting("ISSUANCE_WAIT_SECONDS") or str(DEFAULT_ISSUANCE_WAIT_S)
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= ISSUANCE_WAIT_MAX_S:
        raise ConfigurationError(
            f"JOB_CERTIFICATE_ROTATION_ISSUANCE_WAIT_SECONDS must be 0 to {ISSUANCE_WAIT_MAX_S:g} seconds, "
            f"not {text!r}."
        )
    return seconds


def _connections(ctx: JobContext) -> list[str]:
    if ctx.connection_name:
        return [ctx.connection_name]
    from shared.config import get_settings

    settings = get_settings()
    return [n for n, c in sorted(settings.connections.items()) if c.credential.value in ROTATING_KINDS]


def rotate_each(
    ctx: JobContext, names: list[str], rotate_one: Callable[[JobContext, str], dict[str, Any]]
) -> dict[str, Any]:
    """Rotate every connection (one failing does not stop the others); per-connection outcomes go
    to the run's detail (`rotation`, read by /api/context); the first failure fails the run."""
    from shared.redaction import redact
    from shared.runs._model import MAX_MESSAGE  # here: importing the ledger stays off the cold path

    results: list[dict[str, Any]] = []
    outcomes: dict[str, dict[str, Any]] = {}
    failures: list[AutomationError] = []
    for name in names:
        try:
            done = rotate_one(ctx, name)
        except AutomationError as exc:
            failures.append(exc)
            outcomes[name.lower()] = {
                "status": "failed",
                "step": exc.step,
                "code": exc.code,
                "message": redact(exc.message)[:MAX_MESSAGE],  # our own words, as the run's error
            }
            continue
        results.append(done)
        pending = done.get("pending")
        if pending:  # the certificate is still with its issuer: neither done nor failed
            outcomes[name.lower()] = {
                "status": "pending",
                "step": pending["step"],
                "message": redact(pending["message"])[:MAX_MESSAGE],
            }
            continue
        outcomes[name.lower()] = {
            "status": "succeeded",
            "steps": [s["step"] for s in done["steps"] if "waiting" not in s],
        }
    ctx.note("rotation", outcomes)
    if failures:
        raise failures[0]
    return {"connections": results}


@job(NAME, schedule="0 30 3 * * *", roles={"Application.Read.All"}, timeout=timedelta(minutes=10))
def certificate_rotation(ctx: JobContext) -> dict[str, Any]:
    """Renew, register, switch and retire the certificates of certificate and keyvault-key connections."""
    return rotate_each(ctx, _connections(ctx), rotate)


JOB = certificate_rotation
