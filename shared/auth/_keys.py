"""Entra's signing keys and issuers for one authority + tenant, cached (`SigningKeys`).

Keys come only from the tenant's OpenID configuration (`jwks_uri`), picked by the token's
`kid`; never from the token itself (`jku`, `x5u`, `jwk`, `x5c` are not read). The set is
refetched when it is older than a day, and on an unknown `kid` at most once a minute, so a
flood of forged `kid`s costs Entra one request a minute and a real rotation is picked up at
once (https://learn.microsoft.com/entra/identity-platform/signing-key-rollover).

Issuers come from the same documents: v2 `{authority}/{tenant}/v2.0/.well-known/openid-configuration`
(`https://login.microsoftonline.com/{tid}/v2.0`), v1 `{authority}/{tenant}/.well-known/openid-configuration`
(`https://sts.windows.net/{tid}/`), the v1 one read only when a v1 token arrives. Multi-tenant
documents (`organizations`, `common`) publish `{tenantid}` in the issuer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth import _errors as reasons
from shared.auth._errors import InvalidTokenError

log = logging.getLogger(__name__)

FetchJson = Callable[[str], Mapping[str, Any]]
Clock = Callable[[], float]

MAX_AGE_S = 24 * 3600.0  # refresh at least daily
MIN_REFRESH_S = 60.0  # and on an unknown kid at most once a minute
V1, V2 = "1.0", "2.0"


class KeysUnavailableError(InvalidTokenError):
    """The OpenID configuration or the JWKS could not be read (an outage: retry later)."""

    def __init__(self) -> None:
        super().__init__(reasons.KEYS_UNAVAILABLE, outage=True)


def default_fetch(url: str) -> Mapping[str, Any]:
    """GET a JSON document with the app's one pooled session (TLS verified, explicit CA)."""
    import requests  # here, not at import time: function_app stays light

    from shared.http import session

    try:
        response = session().get(url, timeout=(3.05, 10))
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("Reading %s failed: %s", url, type(exc).__name__)
        raise KeysUnavailableError() from exc
    if not isinstance(body, Mapping):
        raise KeysUnavailableError()
    return body


@dataclass(frozen=True)
class _Document:
    body: Mapping[str, Any]
    fetched_at: float


class SigningKeys:
    """One tenant's (or `organizations`') published keys by `kid` and issuers by token version."""

    def __init__(
        self,
        authority_host: str,
        tenant: str,
        *,
        fetch: FetchJson | None = None,
        clock: Clock = time.monotonic,
        max_age_s: float = MAX_AGE_S,
        min_refresh_s: float = MIN_REFRESH_S,
    ) -> None:
        self.authority_host = authority_host.rstrip("/")
        self.tenant = tenant
        self._fetch = fetch or default_fetch
        self._clock = clock
        self._max_age_s = max_age_s
        self._min_refresh_s = min_refresh_s
        self._lock = threading.RLock()  # key() refreshes under it and reads the metadata
        self._metadata: dict[str, _Document] = {}
        self._keys: dict[str, Any] = {}  # kid -> RSAPublicKey, parsed once
        self._keys_at: float | None = None  # when the JWKS was last fetched (or tried)
        self.fetches = 0  # documents fetched: the benchmark and tests count network calls

    def metadata_url(self, version: str = V2) -> str:
        suffix = (
            "v2.0/.well-known/openid-configuration" if version == V2 else ".well-known/openid-configuration"
        )
        return f"{self.authority_host}/{self.tenant}/{suffix}"

    def _get(self, url: str) -> Mapping[str, Any]:
        self.fetches += 1
        return self._fetch(url)

    def _document(self, version: str) -> Mapping[str, Any]:
        now = self._clock()
        doc = self._metadata.get(version)
        if doc is not None and now - doc.fetched_at < self._max_age_s:
            return doc.body
        with self._lock:
            doc = self._metadata.get(version)
            if doc is None or now - doc.fetched_at >= self._max_age_s:
                try:
                    body = self._get(self.metadata_url(version))
                except KeysUnavailableError:
                    if doc is None:
                        raise
                    log.warning("OpenID configuration refresh failed; keeping the one read before")
                    return doc.body
                doc = _Document(body, now)
                self._metadata[version] = doc
            return doc.body

    def issuer(self, version: str) -> str:
        """The issuer the tenant's OpenID configuration of this token version publishes."""
        value = self._document(version).get("issuer")
        if not isinstance(value, str) or not value:
            raise KeysUnavailableError()
        return value

    def key(self, kid: str) -> Any:
        """The public key for `kid`; InvalidTokenError(SIGNATURE) if the tenant doesn't publish it."""
        now = self._clock()
        stale = self._keys_at is None or now - self._keys_at >= self._max_age_s
        found = None if stale else self._keys.get(kid)
        if found is not None:
            return found
        with self._lock:
            stale = self._keys_at is None or now - self._keys_at >= self._max_age_s
            may_refresh = stale or (
                kid not in self._keys
                and (self._keys_at is None or now - self._keys_at >= self._min_refresh_s)
            )
            if may_refresh:
                self._refresh(now)
            found = self._keys.get(kid)
        if found is None:
            raise InvalidTokenError(reasons.SIGNATURE)
        return found

    def _refresh(self, now: float) -> None:
        import jwt  # PyJWT parses the JWKS entries into cryptography keys

        jwks_uri = self._document(V2).get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeysUnavailableError()
        self._keys_at = now  # an attempt counts for the once-a-minute rule, even if it fails
        try:
            body = self._get(jwks_uri)
        except KeysUnavailableError:
            if not self._keys:
                raise
            log.warning("JWKS refresh failed; keeping the %d keys read before", len(self._keys))
            return
        keys: dict[str, Any] = {}
        for entry in body.get("keys", []) if isinstance(body.get("keys"), list) else []:
            if (
                not isinstance(entry, Mapping)
                or entry.get("kty") != "RSA"
                or entry.get("use", "sig") != "sig"
            ):
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str):
                continue
            try:
                keys[kid] = self._keys.get(kid) or jwt.PyJWK(dict(entry), algorithm="RS256").key
            except jwt.PyJWTError:
                log.warning("Ignoring an unusable JWKS entry (kid %s)", kid)
        self._keys = keys
        log.info("Signing keys for %s/%s: %d published", self.authority_host, self.tenant, len(keys))


_caches: dict[tuple[str, str], SigningKeys] = {}
_caches_lock = threading.Lock()


def signing_keys(authority_host: str, tenant: str) -> SigningKeys:
    """The process-wide cache for (authority host, tenant id or `organizations`/`common`)."""
    key = (authority_host.rstrip("/").lower(), tenant.lower())
    found = _caches.get(key)
    if found is None:
        with _caches_lock:
            found = _caches.setdefault(key, SigningKeys(authority_host, tenant))
    return found


def reset_signing_keys() -> None:
    """Forget every cached key set (tests)."""
    with _caches_lock:
        _caches.clear()
