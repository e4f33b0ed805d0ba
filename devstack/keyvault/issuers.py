"""Certificate issuers: the vault's issuer objects, the devstack's per-issuer settings, the providers' CAs.

Key Vault has two reserved issuer names, `Self` (self-signed, issued at once) and `Unknown`
(a CSR to merge), and issuer objects naming a provider. For the partnered CA providers
(https://learn.microsoft.com/azure/key-vault/certificates/how-to-integrate-certificate-authority)
the emulator is the CA: each provider gets one issuing CA of the devstack's, an intermediate
signed by the tenant's root, so certificates it issues chain to `tenant.ca`. Any other provider
never answers (the live service keeps a `Test` provider's operation `inProgress`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from devstack.keyvault.exceptions import BadParameter, CertificateIssuerNotFound
from devstack.tenant.models import Tenant
from devstack.tenant.pki import CertificateAuthority, utcnow
from devstack.tenant.vault import IssuerObject

# Lower-case provider -> its spelling in Key Vault.
PROVIDERS = {p.lower(): p for p in ("DigiCert", "GlobalSign", "OneCertV2-PublicCA", "OneCertV2-PrivateCA")}
SELF = "Self"
UNKNOWN = "Unknown"
RESERVED = {SELF.lower(): SELF, UNKNOWN.lower(): UNKNOWN}
RETRY_AFTER_S = 10  # what Key Vault sends with an operation in progress
DELAY_S = 3.0


@dataclass
class IssuerSettings:
    """The devstack's knobs for one issuer name (`/_devstack/issuers/{name}`)."""

    delay_seconds: float = DELAY_S
    refuse: str | None = None  # the next issuance fails with this text
    retry_after: int = RETRY_AFTER_S


@dataclass
class IssuerFields:
    """Fields of a set or update body; None is "not given"."""

    provider: str | None = None
    account_id: str | None = None
    password: str | None = None
    organization_id: str | None = None
    admin_details: list[dict[str, str]] | None = None
    enabled: bool | None = None


@dataclass
class Issuers:
    tenant: Tenant
    settings: dict[str, IssuerSettings] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- issuer objects ---------------------------------------------------------------------
    def get(self, name: str) -> IssuerObject:
        with self.tenant.vault.lock:
            issuer = self.tenant.vault.issuers.get(name.lower())
        if issuer is None:
            raise CertificateIssuerNotFound()
        return issuer

    def list(self) -> list[IssuerObject]:
        with self.tenant.vault.lock:
            return [self.tenant.vault.issuers[k] for k in sorted(self.tenant.vault.issuers)]

    def set(self, name: str, fields: IssuerFields) -> IssuerObject:
        """Create or replace (`PUT`): what is not given is cleared, `created` is kept."""
        if name.lower() in RESERVED:
            raise BadParameter(f"The issuer name '{name}' is reserved.")  # ≈
        assert fields.provider is not None
        store = self.tenant.vault
        with store.lock:
            previous = store.issuers.get(name.lower())
            issuer = IssuerObject(name=previous.name if previous else name, provider=fields.provider)
            if previous:
                issuer.created = previous.created
            _apply(issuer, fields)
            store.issuers[name.lower()] = issuer
        return issuer

    def update(self, name: str, fields: IssuerFields) -> IssuerObject:
        """`PATCH`: only the fields given change."""
        with self.tenant.vault.lock:
            issuer = self.get(name)
            _apply(issuer, fields)
            issuer.updated = utcnow()
        return issuer

    def delete(self, name: str) -> IssuerObject:
        with self.tenant.vault.lock:
            issuer = self.get(name)
            del self.tenant.vault.issuers[name.lower()]
        return issuer

    # -- devstack settings and CAs -----------------------------------------------------------
    def settings_for(self, name: str) -> IssuerSettings:
        with self.lock:
            return self.settings.setdefault(name.lower(), IssuerSettings())

    def take_refusal(self, name: str) -> str | None:
        """The refusal text set for this issuer, once: the next issuance fails, later ones do not."""
        with self.lock:
            settings = self.settings.setdefault(name.lower(), IssuerSettings())
            text, settings.refuse = settings.refuse, None
            return text

    def issuing_ca(self, provider: str) -> CertificateAuthority:
        """The provider's issuing CA (created once, kept): an intermediate under the tenant's root."""
        store = self.tenant.vault
        with store.lock:
            ca = store.issuing_cas.get(provider)
            if ca is None:
                ca = CertificateAuthority(
                    f"devstack {provider} stand-in issuing CA", parent=self.tenant.ca, organization="devstack"
                )
                store.issuing_cas[provider] = ca
            return ca


def _apply(issuer: IssuerObject, fields: IssuerFields) -> None:
    if fields.provider is not None:
        issuer.provider = fields.provider
    if fields.account_id is not None:
        issuer.account_id = fields.account_id
    if fields.password is not None:
        issuer.password = fields.password
    if fields.organization_id is not None:
        issuer.organization_id = fields.organization_id
    if fields.admin_details is not None:
        issuer.admin_details = fields.admin_details
    if fields.enabled is not None:
        issuer.enabled = fields.enabled
