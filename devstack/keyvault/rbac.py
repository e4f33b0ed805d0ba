"""Key Vault's built-in RBAC roles as data: role name -> data actions it grants.

Patterns follow the role definitions' `dataActions` (`*` wildcards). A grant marked
`managed_only` applies only to the key and secret that back a certificate: the brief models
Certificates Officer's key/secret reads that way ("read of certificate-backed objects").
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

_V = "Microsoft.KeyVault/vaults"

GET_SECRET = f"{_V}/secrets/getSecret/action"
READ_SECRET_METADATA = f"{_V}/secrets/readMetadata/action"
SET_SECRET = f"{_V}/secrets/setSecret/action"
READ_CERTIFICATE = f"{_V}/certificates/read"
IMPORT_CERTIFICATE = f"{_V}/certificates/import/action"
CREATE_CERTIFICATE = f"{_V}/certificates/create/action"  # also merge ("certificates/create")
UPDATE_CERTIFICATE = f"{_V}/certificates/update/action"  # cancel or delete a pending operation
READ_ISSUER = f"{_V}/certificatecas/read"
WRITE_ISSUER = f"{_V}/certificatecas/write"
DELETE_ISSUER = f"{_V}/certificatecas/delete"
READ_KEY = f"{_V}/keys/read"
SIGN = f"{_V}/keys/sign/action"
DECRYPT = f"{_V}/keys/decrypt/action"
UNWRAP_KEY = f"{_V}/keys/unwrap/action"


@dataclass(frozen=True)
class Grant:
    pattern: str
    managed_only: bool = False


_KEY_USE = ("read", "sign/action", "verify/action", "wrap/action", "unwrap/action", "encrypt/action")

BUILT_IN_ROLES: dict[str, tuple[Grant, ...]] = {
    "Key Vault Administrator": (Grant(f"{_V}/*"),),
    "Key Vault Secrets Officer": (Grant(f"{_V}/secrets/*"),),
    "Key Vault Secrets User": (Grant(GET_SECRET), Grant(READ_SECRET_METADATA)),
    "Key Vault Certificates Officer": (
        Grant(f"{_V}/certificates/*"),
        Grant(f"{_V}/certificatecas/*"),
        Grant(GET_SECRET, managed_only=True),
        Grant(READ_SECRET_METADATA, managed_only=True),
        Grant(READ_KEY, managed_only=True),
    ),
    # "Read entire certificate contents including secret and key portion."
    "Key Vault Certificate User": (
        Grant(READ_CERTIFICATE),
        Grant(GET_SECRET),
        Grant(READ_SECRET_METADATA),
        Grant(READ_KEY),
    ),
    "Key Vault Crypto Officer": (Grant(f"{_V}/keys/*"),),
    "Key Vault Crypto User": (
        *(Grant(f"{_V}/keys/{op}") for op in _KEY_USE),
        Grant(f"{_V}/keys/decrypt/action"),
        Grant(f"{_V}/keys/update/action"),
    ),
    "Key Vault Reader": (Grant(f"{_V}/*/read"), Grant(READ_SECRET_METADATA)),
}


def allows(roles: set[str], action: str, *, managed: bool) -> bool:
    """Whether any of these role names grants `action` on an object (managed = backs a certificate)."""
    for role in roles:
        for grant in BUILT_IN_ROLES.get(role, ()):
            if fnmatchcase(action, grant.pattern) and (managed or not grant.managed_only):
                return True
    return False
