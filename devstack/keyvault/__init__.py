"""The Key Vault emulator: secrets, keys and certificates with versions, over HTTPS, strict like Azure.

Data plane (the real azure-keyvault-* SDKs, `verify_challenge_resource=False`):
- Secrets: get (`/secrets/{name}/` = latest, `/secrets/{name}/{version}`), list, list versions, set.
- Keys: get (latest or version) as a JWK; sign a digest (`/keys/{name}[/{version}]/sign`,
  RS256/384/512, PS256/384/512). `/keys/{name}//sign` (what CryptographyClient posts for a
  versionless id it could not resolve) answers 404 KeyNotFound: pass versioned key ids.
  Decrypt and unwrap (`/keys/{name}[/{version}]/decrypt` and `/unwrapkey`, RSA-OAEP (SHA-1),
  RSA-OAEP-256, RSA1_5): the private key never leaves the vault (what a non-exportable
  certificate's key is for, e.g. Graph's rich notifications' `dataKey`).
- Certificates: get, list, list versions, policy, import (PFX or PEM, base64), create by the
  policy's issuer (`operations.py`): `Self` self-signed at once, `Unknown` a CSR to merge
  (`/pending/merge`), an issuer object of a partnered provider signed by that provider's devstack
  issuing CA after a delay, others never. An operation in progress shows as a disabled pending
  version; `/pending` can be cancelled (PATCH) or deleted. Each version has a key and a
  secret of the same name and version. A non-exportable certificate's secret exists but holds
  only the certificate chain, no private key, as Key Vault documents.
- Certificate issuers: set, get, list, update, delete (`issuers.py`); the password is never returned.
- Auth: 401 + `WWW-Authenticate` challenge (AKV10000, AKV10022, AKV10032, AKV10046, expired);
  RBAC from `tenant.vault_roles` (built-in roles in `rbac.py`) -> 403 ForbiddenByRbac.
- Errors: `exceptions.py`; injected 429 faults answer Key Vault's `Throttled` body.

Control endpoints (devstack only, no token), besides the common `/_devstack/requests` and
`/_devstack/faults`:
- `PUT /_devstack/secrets/{name}` `{"value", "contentType"?, "tags"?}` -> 200 secret bundle: a new
  version, as a deployer would add it (docs/contract.md).
- `POST /_devstack/certificates/{name}` `{"subject"?, "contentType"?: "application/x-pkcs12" |
  "application/x-pem-file", "exportable"?, "validDays"?, "expired"?, "notYetValid"?,
  "notBefore"?, "notAfter"? (ISO 8601), "registerOnApp"?: appId or display name}` -> 201
  `{"certificate": <bundle>, "sha1Thumbprint", "sha256Thumbprint", "registeredOn"}`: a new
  CA-issued version (defaults from the current version), optionally added to the app's
  `keyCredentials` (rotation tests).
- `PUT` / `DELETE /_devstack/roles/{objectId}/{roleName}` -> 204: grant or revoke a built-in
  vault role (URL-encode the spaces); `GET /_devstack/roles/{objectId}` lists them.
- `POST` / `GET /_devstack/issuers/{name}` `{"delaySeconds"?, "refuse"?, "retryAfter"?}` -> 200:
  an issuer's delay before issuance, a refusal of its next issuance, its operations' Retry-After.
"""

from __future__ import annotations

from devstack.keyvault.app import KeyVaultEmulator
from devstack.tenant.models import Tenant

__all__ = ["KeyVaultEmulator", "create_app"]


def create_app(tenant: Tenant) -> KeyVaultEmulator:
    """The emulator for the tenant's vault; ids use `tenant.extra["urls"]["keyvault"]`."""
    return KeyVaultEmulator(tenant, tenant.extra["urls"]["keyvault"])
