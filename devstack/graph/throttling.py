"""Graph's identity-and-access throttling model: token buckets in resource units; no HTTP here.

As Microsoft documents it (https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits):
- one bucket per application + tenant, in resource units (RU): 3,500 / 5,000 / 8,000 RU per
  10 s for tenants under 50 (S), 50-500 (M) and over 500 (L) users;
- a request costs: GET users 2, GET groups/{id}/members 3, transitiveMembers 5, anything else
  1; `$select` -1, `$expand` +1, `$top` under 20 -1; never less than 1;
- writes (POST, PATCH, PUT, DELETE) also draw on a second bucket of 3,000 requests per 2.5 min;
- every answer carries `x-ms-resource-unit` (the cost); once more than 80 % of a bucket is used
  `x-ms-throttle-limit-percentage` says how much; a throttled request gets 429 with `Retry-After`
  (whole seconds until the bucket holds the cost again), `x-ms-throttle-scope` and
  `x-ms-throttle-information`. A throttled request takes nothing from the bucket.

Devstack control: `PUT /_devstack/throttling` (see `docs/contract.md`) changes the model and
refills the buckets; `GET` shows it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# RU per 10 s by tenant size, and the user counts that make a tenant S, M or L.
RESOURCE_UNITS = {"S": 3500, "M": 5000, "L": 8000}
RU_WINDOW_S = 10.0
WRITES_PER_WINDOW = 3000
WRITE_WINDOW_S = 150.0
WARN_FRACTION = 0.8
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def tenant_size(user_count: int) -> str:
    """S under 50 users, M from 50 to 500, L over 500."""
    if user_count < 50:
        return "S"
    return "M" if user_count <= 500 else "L"


def request_cost(method: str, path: str, args: Mapping[str, str]) -> int:
    """The resource units one request costs (`path` without the version root: `/users/x`)."""
    segments = [s for s in path.split("/") if s]
    base = 1
    if method == "GET" and segments:
        if segments[0] == "users" and len(segments) <= 2:  # /users, /users/{id}, /users/delta
            base = 2
        elif segments[0] == "groups" and len(segments) == 3 and segments[2] == "members":
            base = 3
        elif segments[0] == "groups" and len(segments) == 3 and segments[2] == "transitiveMembers":
            base = 5
    cost = base
    if args.get("$select"):
        cost -= 1
    if args.get("$expand"):
        cost += 1
    top = args.get("$top")
    if top is not None and top.isdigit() and int(top) < 20:
        cost -= 1
    return max(1, cost)


@dataclass
class Bucket:
    """`capacity` units refilled evenly over `window_s` seconds."""

    capacity: float
    window_s: float
    tokens: float
    updated: float

    @property
    def rate(self) -> float:
        return self.capacity / self.window_s

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` units are available (0 when they are now)."""
        return 0.0 if self.tokens >= cost else (cost - self.tokens) / self.rate

    def used_fraction(self, extra: float = 0.0) -> float:
        return (self.capacity - self.tokens + extra) / self.capacity


@dataclass(frozen=True)
class Decision:
    """What the model says about one request: its cost, and either go or wait."""

    cost: int
    retry_after: int | None = None  # whole seconds; None: served
    limit_percentage: float | None = None  # set once usage passes 0.8
    scope: str | None = None
    information: str | None = None

    @property
    def throttled(self) -> bool:
        return self.retry_after is not None

    def headers(self) -> dict[str, str]:
        out = {"x-ms-resource-unit": str(self.cost)}
        if self.limit_percentage is not None:
            out["x-ms-throttle-limit-percentage"] = f"{self.limit_percentage:.2f}"
        if self.retry_after is not None:
            out["Retry-After"] = str(self.retry_after)
            out["x-ms-throttle-scope"] = str(self.scope)
            out["x-ms-throttle-information"] = str(self.information)
        return out


@dataclass
class ThrottlingModel:
    """Buckets per (app id, tenant id); thread-safe; `clock` is monotonic seconds."""

    user_count: Callable[[], int]
    clock: Callable[[], float] = time.monotonic
    enabled: bool = True
    size_override: str | None = None  # None: from the tenant's user count
    units_override: int | None = None
    writes_per_window: int = WRITES_PER_WINDOW
    _buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    _writes: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the model in force ---------------------------------------------------
    @property
    def tenant_size(self) -> str:
        return self.size_override or tenant_size(self.user_count())

    @property
    def resource_units_per_10s(self) -> int:
        return self.units_override or RESOURCE_UNITS[self.tenant_size]

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "tenantSize": self.tenant_size,
            "resourceUnitsPer10s": self.resource_units_per_10s,
            "writesPer150s": self.writes_per_window,
        }

    def configure(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Apply any subset of `enabled`, `tenantSize`, `resourceUnitsPer10s`, `writesPer150s`.

        `tenantSize` or `resourceUnitsPer10s` null goes back to the default. Every bucket is
        refilled. Raises ValueError naming the bad field (nothing changes then).
        """
        unknown = set(spec) - {"enabled", "tenantSize", "resourceUnitsPer10s", "writesPer150s"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        enabled = spec.get("enabled", self.enabled)
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be true or false")
        size = spec.get("tenantSize", self.size_override)
        if size is not None and size not in RESOURCE_UNITS:
            raise ValueError("tenantSize must be S, M or L")
        units = spec.get("resourceUnitsPer10s", self.units_override)
        writes = spec.get("writesPer150s", self.writes_per_window)
        for name, value in (("resourceUnitsPer10s", units), ("writesPer150s", writes)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer")
        with self._lock:
            self.enabled, self.size_override, self.units_override = enabled, size, units
            self.writes_per_window = int(writes)
            self._buckets.clear()
            self._writes.clear()
        return self.describe()

    def reset(self) -> None:
        """Refill every bucket (keeps the settings)."""
        with self._lock:
            self._buckets.clear()
            self._writes.clear()

    # -- one request ----------------------------------------------------------
    def charge(
        self, app_id: str, tenant_id: str, method: str, path: str, args: Mapping[str, str]
    ) -> Decision:
        """Take the request's cost from its buckets, or say how long to wait."""
        cost = request_cost(method, path, args)
        if not self.enabled:
            return Decision(cost)
        key = (app_id.lower(), tenant_id.lower())
        now = self.clock()
        with self._lock:
            units = self._bucket(self._buckets, key, self.resource_units_per_10s, RU_WINDOW_S, now)
            writes = (
                self._bucket(self._writes, key, self.writes_per_window, WRITE_WINDOW_S, now)
                if method.upper() in WRITE_METHODS
                else None
            )
            if writes is not None and writes.wait_for(1):
                return self._refused(cost, writes, 1, "Write", "WriteLimitExceeded", app_id, tenant_id)
            if units.wait_for(cost):
                return self._refused(
                    cost, units, cost, "ReadWrite", "ResourceUnitLimitExceeded", app_id, tenant_id
                )
            units.tokens -= cost
            if writes is not None:
                writes.tokens -= 1
            used = max(units.used_fraction(), writes.used_fraction() if writes else 0.0)
        return Decision(cost, limit_percentage=used if used > WARN_FRACTION else None)

    @staticmethod
    def _bucket(
        buckets: dict[tuple[str, str], Bucket], key: tuple[str, str], capacity: int, window: float, now: float
    ) -> Bucket:
        bucket = buckets.get(key)
        if bucket is None or bucket.capacity != capacity:
            bucket = buckets[key] = Bucket(float(capacity), window, float(capacity), now)
        bucket.refill(now)
        return bucket

    @staticmethod
    def _refused(
        cost: int, bucket: Bucket, need: int, limit: str, information: str, app_id: str, tenant_id: str
    ) -> Decision:
        return Decision(
            cost,
            retry_after=max(1, math.ceil(bucket.wait_for(need))),
            limit_percentage=bucket.used_fraction(need),
            scope=f"Tenant_Application/{limit}/{app_id}/{tenant_id}",
            information=information,
        )
