"""What a connection is, as frozen dataclasses: no token, secret or key can be a field here.

`Connection.facts` builds them from the settings and the material already loaded (no I/O);
the context layer turns them into JSON once (`shared.context._facts`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.config import CredentialKind


@dataclass(frozen=True)
class ManagedIdentityFacts:
    """The managed identity a connection is, or uses (to read Key Vault or as its assertion)."""

    type: str  # "system-assigned" | "user-assigned"
    client_id: str | None
    object_id: str | None  # from the settings, or the `oid` of one of its tokens once fetched
    resource_id: str | None


@dataclass(frozen=True)
class CertificateFacts:
    """A Key Vault certificate's public facts, for the version in use."""

    name: str
    key_vault_version: str
    thumbprint_sha1: str
    thumbprint_sha256: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    days_left: int  # whole days from when the facts were taken to not_after
    send_chain: bool


@dataclass(frozen=True)
class ConnectionFacts:
    """Static facts of one connection. `certificate` and the versions are None until first loaded."""

    name: str
    credential: CredentialKind
    cloud: str
    tenant_id: str | None
    client_id: str | None
    managed_identity: ManagedIdentityFacts
    key_vault_url: str | None = None
    certificate: CertificateFacts | None = None
    secret_name: str | None = None
    secret_version: str | None = None
    secret_expires: dt.datetime | None = None  # the password's end, when the version says (rotation tags it)
    key_name: str | None = None
    key_id: str | None = None
    token_exchange_audience: str | None = None
