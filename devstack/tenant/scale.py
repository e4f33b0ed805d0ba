"""The scale seed: N users, N groups and N app registrations with secrets and certificates.

`add_scale(tenant, n, seed=..., now=...)` adds them to a built tenant and returns `ScaleFacts`,
what was generated, so that a test can check a report against it. Everything follows from
`(n, seed, now)`: the same three give the same ids, names, credentials and dates.

Credential end dates are spread around `now`: about 15 % expired (up to 400 days ago), about
20 % expiring within 30 days, the rest 31 to 730 days ahead. Apps have 0-2 secrets and 0-2
certificates each.

Fast at 10,000: no RSA key is generated. Every scale certificate carries one fixed RSA public
key (no private key exists here: these certificates are facts to report on, not credentials to
sign in with) and is signed by an Ed25519 key derived from the seed, built only when first read
(its thumbprint or its bytes), so start-up builds none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID

from devstack.tenant import models as m

DEFAULT_SEED = 20261201
EXPIRED_SHARE = 0.15
SOON_SHARE = 0.20  # expiring within SOON_DAYS
SOON_DAYS = 30
_DEPARTMENTS = ("Sales", "Engineering", "Finance", "Marketing", "IT", "Operations")
_LIFETIMES_DAYS = (90, 180, 365, 730)

# A public key only (its private half was thrown away): every scale certificate carries it.
_PUBLIC_KEY_PEM = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1P04xGlgNv+bcP3zwwrC
g9s1xhUNmwLZH3JniQ/ilTAOD3W96w1ndJm+Jwkaq2kSOYz/9Jbf9FS2ibrcefsM
cSauGPKnY76MUq+TvWYoWwFosnP1PaypX35D9YYmmwIjpBG9hDgc/r5PdQrY59LH
L5UIzW0LBtcrulZWHcQbc/vIYasMoQkarh3kRjZJKlfe33FeNnxkrXSD7JoQBxOv
2GMG2ZOzvI2cxPTLMUZoWiwYTA2D2VKe7rPQza121/gbKdp6R4oPqBS6H5q+KUgD
tkQZJTJadPB1ChnnSCue6m120beKQCBN3K9jXu7d4oX3zbnk5EOtrPT3DlC3weOp
2wIDAQAB
-----END PUBLIC KEY-----
"""


@dataclass(frozen=True)
class CredentialFact:
    """One generated secret or certificate of one generated app."""

    app_id: str
    app_object_id: str
    app_display_name: str
    kind: str  # "password" | "certificate"
    key_id: str
    display_name: str
    start: dt.datetime
    end: dt.datetime

    def expired(self, at: dt.datetime) -> bool:
        return self.end <= at

    def expires_within(self, days: float, at: dt.datetime) -> bool:
        """Not yet expired at `at`, and expired `days` later."""
        return at < self.end <= at + dt.timedelta(days=days)


@dataclass(frozen=True)
class ScaleFacts:
    """What the scale seed generated (object ids in creation order)."""

    n: int
    seed: int
    now: dt.datetime
    users: tuple[str, ...]
    groups: tuple[str, ...]
    apps: tuple[str, ...]  # app ids
    credentials: tuple[CredentialFact, ...]

    def expired(self, at: dt.datetime | None = None) -> list[CredentialFact]:
        at = at or self.now
        return [c for c in self.credentials if c.expired(at)]

    def expiring_within(self, days: float = SOON_DAYS, at: dt.datetime | None = None) -> list[CredentialFact]:
        at = at or self.now
        return [c for c in self.credentials if c.expires_within(days, at)]

    def summary(self) -> dict[str, Any]:
        """Counts for logs, the state file and reports."""
        return {
            "n": self.n,
            "seed": self.seed,
            "now": self.now.isoformat(),
            "users": len(self.users),
            "groups": len(self.groups),
            "apps": len(self.apps),
            "secrets": sum(c.kind == "password" for c in self.credentials),
            "certificates": sum(c.kind == "certificate" for c in self.credentials),
            "expired": len(self.expired()),
            "expiringWithin30Days": len(self.expiring_within()),
        }


class _Ids:
    """Deterministic random (version 4 shaped) GUIDs from the seed; uuid5 would cost a second at 10k."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"ids:{seed}")  # noqa: S311 - reproducible test data, not secrets

    def __call__(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _end(rng: random.Random, now: dt.datetime) -> dt.datetime:
    r = rng.random()
    if r < EXPIRED_SHARE:
        return now - dt.timedelta(hours=rng.randint(1, 400 * 24))
    if r < EXPIRED_SHARE + SOON_SHARE:
        return now + dt.timedelta(hours=rng.randint(1, SOON_DAYS * 24))
    return now + dt.timedelta(days=rng.randint(SOON_DAYS + 1, 730))


class _CertificateFactory:
    """Builds scale certificates on demand: fixed public key, Ed25519 issuer derived from the seed."""

    def __init__(self, seed: int) -> None:
        self.public_key = serialization.load_pem_public_key(_PUBLIC_KEY_PEM)
        assert isinstance(self.public_key, rsa.RSAPublicKey)
        self.issuer_key = ed25519.Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(f"devstack-scale-issuer:{seed}".encode()).digest()
        )
        self.issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devstack scale CA")])

    def later(
        self, subject: str, serial: int, start: dt.datetime, end: dt.datetime
    ) -> Callable[[], x509.Certificate]:
        def build() -> x509.Certificate:
            return (
                x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .issuer_name(self.issuer)
                .public_key(self.public_key)  # type: ignore[arg-type]
                .serial_number(serial)
                .not_valid_before(start)
                .not_valid_after(end)
                .sign(self.issuer_key, None)
            )

        return build


def add_scale(
    tenant: m.Tenant, n: int, *, seed: int = DEFAULT_SEED, now: dt.datetime | None = None
) -> ScaleFacts:
    """Add N users, N groups and N apps (with credentials) to `tenant`; what was added."""
    if n < 0:
        raise ValueError("scale must be >= 0")
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    domain = tenant.default_domain
    certificates = _CertificateFactory(seed)
    _id = _Ids(seed)
    users: list[m.User] = []
    for i in range(1, n + 1):
        upn = f"scale.user{i:05d}@{domain}"
        users.append(
            m.User(
                object_id=_id(),
                user_principal_name=upn,
                display_name=f"Scale User {i:05d}",
                given_name="Scale",
                surname=f"User {i:05d}",
                department=_DEPARTMENTS[rng.randrange(len(_DEPARTMENTS))],
                account_enabled=rng.random() > 0.05,
                mail=upn,
            )
        )
    groups: list[m.Group] = []
    for i in range(1, n + 1):
        size = min(len(users), rng.randint(0, 12))
        members = [u.object_id for u in rng.sample(users, size)] if size else []
        groups.append(
            m.Group(
                object_id=_id(),
                display_name=f"Scale Group {i:05d}",
                mail_nickname=f"scale-group-{i:05d}",
                members=members,
            )
        )
    apps: list[m.AppRegistration] = []
    facts: list[CredentialFact] = []
    for i in range(1, n + 1):
        app = m.AppRegistration(
            app_id=_id(),
            object_id=_id(),
            sp_object_id=_id(),
            display_name=f"scale-app-{i:05d}",
            created=now - dt.timedelta(days=rng.randint(30, 1500)),
        )
        for j in range(rng.choice((0, 1, 1, 2))):
            end = _end(rng, now)
            start = end - dt.timedelta(days=rng.choice(_LIFETIMES_DAYS))
            secret = hashlib.blake2b(f"{seed}:secret:{i}:{j}".encode(), digest_size=30).hexdigest()[:40]
            cred = m.PasswordCredential(_id(), f"secret {j + 1}", secret, start, end)
            app.password_credentials.append(cred)
            facts.append(
                CredentialFact(
                    app.app_id,
                    app.object_id,
                    app.display_name,
                    "password",
                    cred.key_id,
                    cred.display_name,
                    start,
                    end,
                )
            )
        for j in range(rng.choice((0, 1, 1, 2))):
            end = _end(rng, now)
            start = end - dt.timedelta(days=rng.choice(_LIFETIMES_DAYS))
            subject = f"{app.display_name}-cert{j + 1}"
            serial = int.from_bytes(hashlib.sha256(f"{seed}:serial:{i}:{j}".encode()).digest()[:16]) >> 1
            kc = m.KeyCredential(
                key_id=_id(),
                display_name=f"CN={subject}",
                certificate_source=certificates.later(subject, serial, start, end),
                start=start,
                end=end,
            )
            app.key_credentials.append(kc)
            facts.append(
                CredentialFact(
                    app.app_id,
                    app.object_id,
                    app.display_name,
                    "certificate",
                    kc.key_id,
                    kc.display_name,
                    start,
                    end,
                )
            )
        apps.append(app)
    with tenant.lock:
        tenant.users.extend(users)
        tenant.groups.extend(groups)
        tenant.apps.extend(apps)
        tenant.directory_changed()
    result = ScaleFacts(
        n=n,
        seed=seed,
        now=now,
        users=tuple(u.object_id for u in users),
        groups=tuple(g.object_id for g in groups),
        apps=tuple(a.app_id for a in apps),
        credentials=tuple(facts),
    )
    tenant.extra["scale"] = result
    return result
