"""The certificate bootstrap: a connection's first certificate, made in Key Vault and registered.

For each certificate or keyvault-key connection (or the ones named), signed in as the deployer:

1. `read`: the Key Vault certificate (404: none yet) and the app registration's keyCredentials.
2. `create`: no certificate yet -> Key Vault creates it with the connection's policy
   (shared/certificates/_policy.py); the private key never leaves the vault.
3. `register`: its thumbprint is not on the app ->
   - `addKey` when a certificate the app already has is valid now and in a vault the deployer
     can read (this connection's older version, or another connection of the same app): the app
     itself calls addKey with a proof signed by that key (locally, or by Key Vault's sign
     operation for a non-exportable key); no Graph permission needed
     (https://learn.microsoft.com/graph/api/application-addkey);
   - otherwise `PATCH /applications/{id}` with the whole keyCredentials collection (Graph
     replaces it: every existing key is sent back, with its keyId and key) as the deployer, who
     must own the app or hold an application administrator role.

Idempotent: the state is what Key Vault and the app hold, so a second run reads and changes
nothing; a run that stopped after `create` registers on the next. The deployer needs Key Vault
Certificates Officer on the vault (and Key Vault Crypto User to sign with a non-exportable key).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared import clock
from shared.certificates._deployer import Deployer, Prompt, sign_in
from shared.certificates._policy import Policy, policy_for, setting_name
from shared.clouds import Cloud
from shared.config import ConnectionFields, ConnectionSettings, CredentialKind, get_settings
from shared.errors import AutomationError, CertificatePendingError, ConfigurationError, GraphError

ROTATING = (CredentialKind.CERTIFICATE, CredentialKind.KEYVAULT_KEY)
ADD_KEY = "addKey"
# How long the bootstrap waits for Key Vault to issue a certificate: seconds for Self, minutes for a
# CA issuer; past it the request stays with Key Vault and a second run registers the certificate.
DEFAULT_WAIT_S = 600.0
PATCH = "keyCredentials"


class BootstrapError(AutomationError):
    """A bootstrap step failed; `step` is `bootstrap:<read|create|register>`, the cause is chained."""

    default_step = "bootstrap"


@dataclass(frozen=True)
class Outcome:
    """What the bootstrap did (or, in a dry run, would do) for one connection. No secret in it."""

    connection: str
    certificate: str
    vault_url: str
    client_id: str
    policy: str
    thumbprint: str | None  # SHA-1, upper hex (Graph's customKeyIdentifier); None: not created (dry run)
    not_after: dt.datetime | None
    created: bool
    registered: str | None  # ADD_KEY, PATCH, or None when it was on the app already
    signed_by: str | None  # the thumbprint that signed the addKey proof
    kept: int  # keyCredentials kept by the PATCH
    dry_run: bool
    issuer: str = "Self"
    pending: str | None = None  # the issuer has not issued the certificate yet: Key Vault's status text

    @property
    def changed(self) -> bool:
        return self.created or self.registered is not None

    def lines(self) -> list[str]:
        """What the command prints: ids, names and thumbprints only."""
        name, would = self.connection, "would " if self.dry_run else ""
        out = []
        if self.pending is not None:
            asked = "requested" if self.created else "is waiting for"
            return [
                f"{name}: {asked} certificate {self.certificate} from issuer {self.issuer} in "
                f"{self.vault_url} ({self.policy}); Key Vault is waiting for the CA: {self.pending}",
                f"{name}: run the bootstrap again once the CA has issued it: it registers it then",
            ]
        if self.created:
            verb = "create" if self.dry_run else "created"
            out.append(
                f"{name}: {would}{verb} certificate {self.certificate} in {self.vault_url} ({self.policy})"
            )
        if self.registered == ADD_KEY:
            verb = "register" if self.dry_run else "registered"
            out.append(
                f"{name}: {would}{verb} it on app {self.client_id} with addKey, as the app itself "
                f"(proof signed by its certificate {self.signed_by})"
            )
        elif self.registered == PATCH:
            verb = "register" if self.dry_run else "registered"
            out.append(
                f"{name}: {would}{verb} it on app {self.client_id} by updating keyCredentials as the "
                f"deployer (the app has no valid certificate the deployer can sign with; "
                f"{self.kept} existing key(s) kept)"
            )
        if not self.changed:
            out.append(
                f"{name}: unchanged: certificate {self.certificate} is in {self.vault_url} and on app "
                f"{self.client_id}"
            )
        if self.thumbprint:
            until = f", valid until {self.not_after:%Y-%m-%d}" if self.not_after else ""
            out.append(f"{name}: thumbprint {self.thumbprint}{until}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "certificate": self.certificate,
            "keyVaultUrl": self.vault_url,
            "clientId": self.client_id,
            "policy": self.policy,
            "thumbprint": self.thumbprint,
            "notAfter": self.not_after.isoformat() if self.not_after else None,
            "created": self.created,
            "registered": self.registered,
            "signedBy": self.signed_by,
            "changed": self.changed,
            "dryRun": self.dry_run,
            "issuer": self.issuer,
            "pending": self.pending,
        }


@dataclass(frozen=True)
class _Donor:
    """A certificate on the app, valid now, whose key the deployer can sign with."""

    settings: ConnectionSettings
    vault: Any  # shared.identity._vault.Vault as the deployer
    version: Any  # certificate_rotation.Version


@contextmanager
def _step(
    step: str,
    name: str,
    *,
    vault_hint: str | None = None,
    graph_hint: str | None = None,
    missing_hint: str | None = None,
) -> Iterator[None]:
    """An AutomationError inside becomes BootstrapError naming the step; a 403 gets the deployer's hint."""
    try:
        yield
    except BootstrapError:
        raise
    except AutomationError as exc:
        hint = exc.hint
        if exc.status == 403:
            hint = (graph_hint if isinstance(exc, GraphError) else vault_hint) or hint
        elif exc.status == 404 and isinstance(exc, GraphError):
            hint = missing_hint or hint
        raise BootstrapError(
            f"Certificate bootstrap of connection {name}: step {step} failed: {exc.message}",
            step=f"bootstrap:{step}",
            status=exc.status,
            code=exc.code,
            hint=hint,
            outage=exc.outage,
        ) from exc


def targets(names: list[str] | None) -> list[ConnectionSettings]:
    """The connections named (certificate or keyvault-key, each), else every such connection."""
    settings = get_settings()
    if names:
        chosen = [settings.connection(n) for n in names]
        for c in chosen:
            if c.credential not in ROTATING:
                raise ConfigurationError(
                    f"Connection {c.name} is {c.credential.value}; the bootstrap makes certificates for "
                    "certificate and keyvault-key connections."
                )
        return chosen
    found = [c for _, c in sorted(settings.connections.items()) if c.credential in ROTATING]
    if not found:
        raise ConfigurationError(
            "No certificate or keyvault-key connection is configured: set CONNECTIONS__<NAME>__CREDENTIAL "
            "(certificate or keyvault-key), __CLIENT_ID, __TENANT_ID and __CERTIFICATE (or __KEY)."
        )
    return found


def bootstrap(
    names: list[str] | None = None,
    *,
    how: str = "cli",
    dry_run: bool = False,
    prompt: Prompt | None = None,
    environ: Mapping[str, str] | None = None,
    wait_s: float = DEFAULT_WAIT_S,
) -> list[Outcome]:
    """Bootstrap each target connection in turn (the first failure stops the run)."""
    settings = get_settings()
    cloud = settings.cloud
    chosen = targets(names)
    policies = {c.name: policy_for(c, environ) for c in chosen}  # every setting checked before any change
    deployers: dict[str, Deployer] = {}

    def deployer(conn: ConnectionSettings) -> Deployer:
        tenant = conn.tenant_id
        if not tenant:
            raise ConfigurationError(
                f"Connection {conn.name} names no tenant: set {conn.setting(ConnectionFields.TENANT_ID)}."
            )
        if tenant not in deployers:
            deployers[tenant] = sign_in(how, cloud, tenant, prompt=prompt)
        return deployers[tenant]

    all_rotating = [c for _, c in sorted(settings.connections.items()) if c.credential in ROTATING]
    return [
        _bootstrap_one(
            conn, policies[conn.name], deployer, cloud, all_rotating, dry_run=dry_run, wait_s=wait_s
        )
        for conn in chosen
    ]


def _vault_as(conn: ConnectionSettings, who: Deployer) -> Any:
    from shared.identity._vault import Vault

    assert conn.key_vault_url  # shared.config requires it for certificate and keyvault-key
    return Vault(conn.key_vault_url, conn.managed_identity, credential=who, who=who.words)


def _graph_as(who: Deployer, cloud: Cloud) -> Any:
    from shared.graph import GraphClient
    from shared.http import new_session

    return GraphClient(
        token=lambda: who.bearer(cloud.graph_scope), base_url=cloud.graph_url, session=new_session()
    )


def _certificate_or_none(vault: Any, name: str, setting: str) -> Any:
    """The newest issued version of certificate `name` (or its first version, still pending at its
    issuer), or None when the vault has none by that name."""
    try:
        return vault.issued_certificate(name, setting=setting)
    except AutomationError as exc:
        if exc.status == 404:
            return None
        raise


def _thumbprints(app: Mapping[str, Any]) -> set[str]:
    return {
        str(k.get("customKeyIdentifier") or "").upper()
        for k in app.get("keyCredentials") or []
        if k.get("customKeyIdentifier")
    }


def _bootstrap_one(
    conn: ConnectionSettings,
    policy: Policy,
    deployer_for: Callable[[ConnectionSettings], Deployer],
    cloud: Cloud,
    all_rotating: list[ConnectionSettings],
    *,
    dry_run: bool,
    wait_s: float,
) -> Outcome:
    who = deployer_for(conn)
    graph = _graph_as(who, cloud)
    try:
        vault = _vault_as(conn, who)
        return _bootstrap_with(
            conn, policy, who, vault, graph, deployer_for, cloud, all_rotating, dry_run=dry_run, wait_s=wait_s
        )
    finally:
        graph.close()


def _setting(conn: ConnectionSettings) -> str:
    """The setting naming the connection's Key Vault certificate (CERTIFICATE, or KEY for keyvault-key)."""
    certificate = conn.credential is CredentialKind.CERTIFICATE
    return conn.setting(ConnectionFields.CERTIFICATE if certificate else ConnectionFields.KEY)


def _bootstrap_with(
    conn: ConnectionSettings,
    policy: Policy,
    who: Deployer,
    vault: Any,
    graph: Any,
    deployer_for: Callable[[ConnectionSettings], Deployer],
    cloud: Cloud,
    all_rotating: list[ConnectionSettings],
    *,
    dry_run: bool,
    wait_s: float,
) -> Outcome:
    from shared.jobs.builtin.certificate_rotation import version_facts

    name, client_id = conn.name, str(conn.client_id)
    setting = _setting(conn)
    vault_hint = (
        f"Grant {who.words} Key Vault Certificates Officer on {conn.key_vault_url} (and Key Vault Crypto "
        "User to sign with a non-exportable key): infra/main.bicep grants both to AZURE_PRINCIPAL_ID."
    )
    read_hint = (
        f"{who.words} may not read app {client_id}: the sign-in needs Microsoft Graph Application.Read.All "
        "(or Application.ReadWrite.All), delegated."
    )
    missing = (
        f"No app registration has client id {client_id} in tenant {conn.tenant_id}: check "
        f"{conn.setting(ConnectionFields.CLIENT_ID)} (the application (client) id, not its object id)."
    )
    with _step("read", name, vault_hint=vault_hint, graph_hint=read_hint, missing_hint=missing):
        current = _certificate_or_none(vault, policy.certificate, setting)
        app = graph.get(f"/applications(appId='{client_id}')", select=["id", "keyCredentials"])
    outcome = partial(
        Outcome,
        connection=name,
        certificate=policy.certificate,
        vault_url=str(conn.key_vault_url),
        client_id=client_id,
        policy=policy.describe(),
        signed_by=None,
        kept=len(app.get("keyCredentials") or []),
        dry_run=dry_run,
        issuer=policy.issuer,
    )
    requested = current is None  # this run asks Key Vault for the certificate
    created = requested or current.pending  # pending: an earlier run's request is with the issuer
    try:
        current = _issued(vault, conn, policy, current, vault_hint=vault_hint, dry_run=dry_run, wait_s=wait_s)
    except BootstrapError as exc:
        pending = exc.__cause__
        if not isinstance(pending, CertificatePendingError):
            raise
        return outcome(
            thumbprint=None,
            not_after=None,
            created=requested,
            registered=None,
            pending=pending.details or pending.message,
        )
    if current is not None and current.pending:  # dry run: the request is still with the issuer
        return outcome(thumbprint=None, not_after=None, created=False, registered=None, pending="in progress")
    facts = version_facts(current) if current is not None else None
    if facts is not None and facts.not_after <= clock.now():
        raise BootstrapError(
            f"Certificate bootstrap of connection {name}: certificate {policy.certificate} in "
            f"{conn.key_vault_url} expired on {facts.not_after:%Y-%m-%d}; the bootstrap registers a "
            "certificate that works.",
            step="bootstrap:read",
            hint="Create a new version (python -m shared.jobs run certificate-rotation, or Key Vault > "
            "Certificates > New version), then run the bootstrap again.",
        )
    registered: str | None = None
    signed_by: str | None = None
    if facts is None or facts.thumbprint not in _thumbprints(app):
        with _step("register", name, vault_hint=vault_hint):
            donor = _donor(conn, facts, app, deployer_for, all_rotating)
        registered = ADD_KEY if donor is not None else PATCH
        signed_by = donor.version.thumbprint if donor is not None else None
        if not dry_run:
            assert facts is not None
            if donor is not None:
                with _step("register", name, vault_hint=vault_hint):
                    _add_key(donor, app, facts, cloud)
            else:
                with _step("register", name, graph_hint=_patch_hint(who, client_id, facts.thumbprint)):
                    _patch_key_credentials(graph, app, facts, policy)
            with _step("register", name):
                after = graph.get(f"/applications(appId='{client_id}')", select=["id", "keyCredentials"])
            if facts.thumbprint not in _thumbprints(after):
                raise BootstrapError(
                    f"Certificate bootstrap of connection {name}: Graph accepted the key, but app "
                    f"{client_id} does not list thumbprint {facts.thumbprint}; run the bootstrap again.",
                    step="bootstrap:register",
                )
    return outcome(
        thumbprint=facts.thumbprint if facts else None,
        not_after=facts.not_after if facts else None,
        created=created,
        registered=registered,
        signed_by=signed_by,
    )


def _issued(
    vault: Any,
    conn: ConnectionSettings,
    policy: Policy,
    current: Any,
    *,
    vault_hint: str,
    dry_run: bool,
    wait_s: float,
) -> Any:
    """The connection's issued certificate: `current`, or the one an earlier run's request brings
    (waited on), or a new one (its issuer checked first). A dry run asks for nothing. A CA that has
    not issued within `wait_s` raises BootstrapError caused by CertificatePendingError."""
    setting = _setting(conn)
    if current is not None and current.pending and not dry_run:
        with _step("create", conn.name, vault_hint=vault_hint):
            return vault.await_certificate(policy.certificate, setting=setting, wait_s=wait_s)
    if current is not None:
        return current
    if not policy.self_signed:
        with _step("create", conn.name, vault_hint=vault_hint):
            _require_issuer(vault, conn, policy)
    if dry_run:
        return None
    with _step("create", conn.name, vault_hint=vault_hint):
        return vault.create_certificate(
            policy.certificate, policy.key_vault_policy(), setting=setting, wait_s=wait_s
        )


def _require_issuer(vault: Any, conn: ConnectionSettings, policy: Policy) -> None:
    """A CA issuer must exist in the vault before a certificate names it (Key Vault refuses it otherwise)."""
    if not vault.has_issuer(policy.issuer, setting=setting_name(conn.name, "ISSUER")):
        raise BootstrapError(
            f"Certificate bootstrap of connection {conn.name}: Key Vault {conn.key_vault_url} has no "
            f"certificate issuer {policy.issuer} ({setting_name(conn.name, 'ISSUER')}).",
            step="bootstrap:create",
            code="CertificateIssuerNotFound",
            hint=(
                "Set up the CA in the vault first (Key Vault > Certificates > Certificate Authorities > "
                f"Add, or az keyvault certificate issuer create --vault-name <vault> --issuer-name "
                f"{policy.issuer} --provider-name DigiCert|GlobalSign ...; see https://learn.microsoft.com/"
                "azure/key-vault/certificates/how-to-integrate-certificate-authority), or set "
                f"{setting_name(conn.name, 'ISSUER')}=Self for a self-signed certificate."
            ),
        )


def _donor(
    conn: ConnectionSettings,
    new: Any,
    app: Mapping[str, Any],
    deployer_for: Callable[[ConnectionSettings], Deployer],
    all_rotating: list[ConnectionSettings],
) -> _Donor | None:
    """A version on the app and valid now, of this connection or another of the same app and tenant."""
    from shared.jobs.builtin.certificate_rotation import version_facts

    on_app = _thumbprints(app)
    if not on_app:
        return None
    now = clock.now()
    same_app = [
        c
        for c in all_rotating
        if str(c.client_id).lower() == str(conn.client_id).lower() and c.tenant_id == conn.tenant_id
    ]
    for candidate in sorted(same_app, key=lambda c: c.name != conn.name):  # this connection first
        who = deployer_for(candidate)
        vault = _vault_as(candidate, who)
        certificate = candidate.certificate or candidate.key
        assert certificate
        versions = [
            version_facts(v) for v in vault.certificate_versions(certificate, setting=_setting(candidate))
        ]
        usable = [
            v
            for v in versions
            if v.thumbprint in on_app
            and v.not_before <= now < v.not_after
            and (new is None or v.thumbprint != new.thumbprint)
        ]
        if usable:
            return _Donor(candidate, vault, max(usable, key=lambda v: v.not_before))
    return None


def _add_key(donor: _Donor, app: Mapping[str, Any], new: Any, cloud: Cloud) -> None:
    """The app calls addKey on itself: its token and the proof come from the donor's key."""
    from shared.identity._connection import connection_through
    from shared.jobs.builtin.certificate_rotation import add_key_body, signed_proof, signer

    settings = donor.settings
    # The bootstrap runs on the deployer's machine, where there is no managed identity: the
    # donor's Key Vault material is read (or signed with) as the deployer.
    as_app = connection_through(settings, cloud, donor.vault)
    certificate = settings.certificate or settings.key
    assert certificate
    sign = signer(
        donor.vault, certificate, donor.version, kind=settings.credential.value, setting=_setting(settings)
    )
    body = add_key_body(new.der, signed_proof(str(app["id"]), donor.version, sign))
    try:
        as_app.graph.post(f"/applications/{app['id']}/addKey", json=body)
    finally:
        as_app.graph.close()


def _patch_key_credentials(graph: Any, app: Mapping[str, Any], new: Any, policy: Policy) -> None:
    """PATCH keyCredentials: Graph replaces the collection, so every existing key goes back as it was."""
    kept = []
    for k in app.get("keyCredentials") or []:
        item = {
            "keyId": k["keyId"],
            "type": k.get("type") or "AsymmetricX509Cert",
            "usage": k.get("usage") or "Verify",
            "displayName": k.get("displayName"),
        }
        if k.get("key"):  # Graph returns it to a single-object GET that $selects keyCredentials
            item["key"] = k["key"]
        kept.append(item)
    added = {
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": base64.b64encode(new.der).decode("ascii"),
        "displayName": policy.subject,
    }
    graph.patch(f"/applications/{app['id']}", json={"keyCredentials": [*kept, added]})


def _patch_hint(who: Deployer, client_id: str, thumbprint: str) -> str:
    return (
        f"{who.words} may not change app {client_id}: be an owner of the app registration (Entra admin "
        "center > App registrations > Owners) or hold Application Administrator or Cloud Application "
        "Administrator, with a sign-in consented for Microsoft Graph Application.ReadWrite.All. Or upload "
        f"the certificate (thumbprint {thumbprint}, Key Vault > Certificates > Download in CER format) under "
        "Certificates & secrets, then run the bootstrap again."
    )
