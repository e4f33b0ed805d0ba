"""Shared by the rotation tests (jobs and context): the app's settings, a rotating connection `rot`
(or `srot`), the emulators' clocks, faults and counters, and `rotating`, a test's handle on them all.
Fixtures are imported by the conftests that use them."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared import clock
from shared.identity import connection, reset_connections
from shared.jobs import _connections
from shared.jobs._engine import Engine
from shared.jobs.builtin import certificate_rotation
from shared.runs import Kind, Ledger, Run
from shared.storage import Account
from tests.app.context.support import APP_ID, TENANT_ID
from tests.conftest import tls_session

VAULT_ROLES = ("Key Vault Certificates Officer", "Key Vault Crypto User", "Key Vault Secrets User")
CERTIFICATE_SLOT = time(3, 30)  # the rotation jobs' default daily slots (UTC)
SECRET_SLOT = time(3, 45)
GRACE = timedelta(hours=25)  # past the grace (24 h) after which the old key or password goes


@pytest.fixture
def http(devstack: OfflineTenant) -> Iterator[requests.Session]:
    """A session trusting the devstack's CA (for its control endpoints)."""
    with tls_session(devstack.state()["caBundle"]) as session:
        yield session


@pytest.fixture
def rotation_env(
    devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch, http: requests.Session
) -> Iterator[None]:
    """The app's settings; its identity may renew certificates and sign; the clock goes back after."""
    for name, value in devstack.app_settings().items():
        monkeypatch.setenv(name, value)
    oid = devstack.user_assigned().object_id
    roles = f"{devstack.servers['keyvault'].url}/_devstack/roles/{oid}"
    added = set(VAULT_ROLES) - devstack.tenant.vault_roles.get(oid, set())
    for role in VAULT_ROLES:
        http.put(f"{roles}/{role}", timeout=10)
    reset_connections()
    _connections.reset()
    yield
    for role in added:  # the identity as seeded again: other tests see its real roles
        http.delete(f"{roles}/{role}", timeout=10)
    move_devstack_clock(devstack, http, offset=0)
    for server in ("graph", "keyvault"):
        http.delete(f"{devstack.servers[server].url}/_devstack/faults", timeout=10)
    reset_connections()
    _connections.reset()


def configure(
    devstack: OfflineTenant,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    *,
    valid_days: int = 20,
) -> str:
    """A connection `rot` whose certificate (`valid_days` left) is registered on the sample app."""
    name = "rot-" + secrets.token_hex(4)
    exportable = kind == "certificate"
    made = http.post(
        f"{devstack.servers['keyvault'].url}/_devstack/certificates/{name}",
        json={"validDays": valid_days, "registerOnApp": APP_ID, "exportable": exportable},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    monkeypatch.setenv("CONNECTIONS__ROT__CREDENTIAL", kind)
    monkeypatch.setenv("CONNECTIONS__ROT__TENANT_ID", TENANT_ID)
    monkeypatch.setenv("CONNECTIONS__ROT__CLIENT_ID", APP_ID)
    monkeypatch.setenv("CONNECTIONS__ROT__" + ("CERTIFICATE" if exportable else "KEY"), name)
    monkeypatch.setenv("JOB_CERTIFICATE_ROTATION_CONNECTION", "rot")
    return str(made.json()["sha1Thumbprint"]).upper()


def move_devstack_clock(
    devstack: OfflineTenant, http: requests.Session, *, advance: timedelta | None = None, offset: float = 0
) -> None:
    """Move the emulators' credential clock forward by `advance` (or set its offset)."""
    spec = {"advanceSeconds": advance.total_seconds()} if advance else {"offsetSeconds": offset}
    http.put(f"{devstack.servers['graph'].url}/_devstack/clock", json=spec, timeout=10)


def add_fault(devstack: OfflineTenant, http: requests.Session, server: str, **fault: Any) -> None:
    """An emulator fault (`match`, `status`, `times`...), as its control endpoint takes it."""
    made = http.post(f"{devstack.servers[server].url}/_devstack/faults", json=fault, timeout=10)
    assert made.status_code == 201, made.text


def thumbprints() -> set[str]:
    """The sample app's registered certificate thumbprints (upper hex), read through `rot`."""
    app = connection("rot").graph.get(f"/applications(appId='{APP_ID}')", select=["keyCredentials"])
    return {str(k["customKeyIdentifier"]).upper() for k in app["keyCredentials"]}


def output(runs: Ledger, run: Run) -> dict[str, Any]:
    """The first connection's part of a rotation run's output."""
    data = runs.read_output(run)
    assert data is not None
    return dict(json.loads(data)["connections"][0])


def ledger_text(runs: Ledger, job: str) -> str:
    """Every stored run of `job`, and its output, as text (for leak checks)."""
    found = runs.query(Kind.JOB, job, page_size=100).runs
    parts = [json.dumps(r.to_dict(), default=str) for r in found]
    parts += [(runs.read_output(r) or b"").decode() for r in found]
    return "\n".join(parts)


def counts(devstack: OfflineTenant, http: requests.Session, reset: bool = False) -> dict[str, int]:
    """Requests Key Vault, Graph and Entra served since the last reset (or reset them)."""
    found = {}
    for server in ("keyvault", "graph", "entra"):
        url = f"{devstack.servers[server].url}/_devstack/requests"
        if reset:
            http.delete(url, timeout=10)
        else:
            found[server] = int(http.get(url, timeout=10).json()["total"])
    return found


def next_slot_after(moment: datetime, at: time = CERTIFICATE_SLOT) -> datetime:
    """The daily slot `at` (default the certificate-rotation job's, 03:30:00 UTC) first after `moment`."""
    slot = moment.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return slot if slot > moment else slot + timedelta(days=1)


def fresh_token(name: str) -> str:
    """A Graph token as a newly started instance gets it through connection `name`: first use."""
    reset_connections()
    return connection(name).token("graph").value


@contextlib.contextmanager
def step_hook(hook: Callable[[str, str], None]) -> Iterator[None]:
    """`hook(step, connection)` called after each rotation step while the block runs."""
    certificate_rotation.step_hooks.append(hook)
    try:
        yield
    finally:
        certificate_rotation.step_hooks.remove(hook)


def fire_twice(storage: Account, job: str, at: datetime) -> list[Run | None]:
    """Two instances' timers (each its own engine and ledger) firing for `job` at `at`, at once."""
    with clock.use(clock.ManualClock(at)), ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: Engine(Ledger(storage)).on_timer(job), range(2)))


@dataclass
class Rotating:
    """A rotation test's handle: the devstack, a session trusting it, the test's settings and storage."""

    devstack: OfflineTenant
    http: requests.Session
    monkeypatch: pytest.MonkeyPatch
    storage: Account

    def __post_init__(self) -> None:
        self.runs = Ledger(self.storage)

    def certificate(self, kind: str, *, valid_days: int = 20) -> str:
        """Connection `rot` on a new certificate (`valid_days` left) registered on the app; its thumbprint."""
        return configure(self.devstack, self.http, self.monkeypatch, kind, valid_days=valid_days)

    def secret(self, *, valid_days: int = 20, tagged: bool = True) -> str:
        """Connection `srot` on a new password of the app, stored in Key Vault; its keyId."""
        return configure_secret(
            self.devstack, self.http, self.monkeypatch, valid_days=valid_days, tagged=tagged
        )

    def fault(self, server: str, **fault: Any) -> None:
        """An emulator fault (`match`, `status`, `times`...), until `clear_faults`."""
        add_fault(self.devstack, self.http, server, **fault)

    @contextlib.contextmanager
    def without_vault_role(self, role: str) -> Iterator[None]:
        """The app's identity lacks Key Vault `role` for the block (granted again after)."""
        oid = self.devstack.user_assigned().object_id
        url = f"{self.devstack.servers['keyvault'].url}/_devstack/roles/{oid}/{role}"
        assert self.http.delete(url, timeout=10).status_code == 204
        try:
            yield
        finally:
            self.http.put(url, timeout=10)

    def clear_faults(self, server: str) -> None:
        """The emulator answers as usual again."""
        self.http.delete(f"{self.devstack.servers[server].url}/_devstack/faults", timeout=10)

    def later(self, delta: timedelta) -> datetime:
        """The emulators' credential clock moved `delta` on; the moment as far on, for the app's clock."""
        moment = datetime.now(UTC) + delta
        move_devstack_clock(self.devstack, self.http, advance=delta)
        return moment

    def run(self, job: str, at: datetime | None = None) -> Run:
        """`job` run once by a new engine on the test's ledger (with the app's clock at `at` if given)."""
        with clock.use(clock.ManualClock(at)) if at else contextlib.nullcontext():
            return Engine(self.runs).run_now(job)

    def output(self, run: Run) -> dict[str, Any]:
        """The first connection's part of the run's output."""
        return output(self.runs, run)

    def counts(self, reset: bool = False) -> dict[str, int]:
        """Requests Key Vault, Graph and Entra served since the last reset (or reset them)."""
        return counts(self.devstack, self.http, reset)


@pytest.fixture
def rotating(
    devstack: OfflineTenant,
    rotation_env: None,
    storage: Account,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> Rotating:
    """The rotation environment (`rotation_env`) and the test's storage, in one handle."""
    return Rotating(devstack, http, monkeypatch, storage)


GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OWNED_BY = "Application.ReadWrite.OwnedBy"


@pytest.fixture
def secret_env(devstack: OfflineTenant, rotation_env: None, http: requests.Session) -> Iterator[None]:
    """rotation_env, plus what addPassword on itself needs: the sample app's service principal owns
    its registration and holds Application.ReadWrite.OwnedBy; the identity may write secrets."""
    app = sample_app(devstack)
    oid = devstack.user_assigned().object_id
    officer = f"{devstack.servers['keyvault'].url}/_devstack/roles/{oid}/Key Vault Secrets Officer"
    had_officer = "Key Vault Secrets Officer" in devstack.tenant.vault_roles.get(oid, set())
    http.put(officer, timeout=10)
    passwords = list(app.password_credentials)
    had_role = OWNED_BY in devstack.tenant.roles_for(app.sp_object_id, GRAPH_APP_ID)
    devstack.tenant.grant_roles(app.sp_object_id, GRAPH_APP_ID, {OWNED_BY})
    app.owners.append(app.sp_object_id)
    yield
    app.password_credentials[:] = passwords  # the tests' passwords go; the seeded ones stay
    app.owners.remove(app.sp_object_id)
    if not had_role:
        devstack.tenant.revoke_roles(app.sp_object_id, GRAPH_APP_ID, {OWNED_BY})
    if not had_officer:
        http.delete(officer, timeout=10)


def sample_app(devstack: OfflineTenant) -> Any:
    """The sample app registration in the emulators' tenant model."""
    return next(a for a in devstack.tenant.apps if a.app_id == APP_ID)


def configure_secret(
    devstack: OfflineTenant,
    http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
    *,
    valid_days: int = 20,
    tagged: bool = True,
) -> str:
    """A connection `srot`: a new password on the sample app (`valid_days` left), its value in a new
    Key Vault secret (tagged with its keyId, or untagged as a person would store it); its keyId."""
    name = "srot-" + secrets.token_hex(4)
    cred = devstack.tenant.add_password_credential(sample_app(devstack), "by hand", days=valid_days)
    body: dict[str, Any] = {"value": cred.secret}
    if tagged:
        body["tags"] = {"keyId": cred.key_id, "endDateTime": cred.end.isoformat()}
    made = http.put(f"{devstack.servers['keyvault'].url}/_devstack/secrets/{name}", json=body, timeout=10)
    assert made.status_code == 200, made.text
    monkeypatch.setenv("CONNECTIONS__SROT__CREDENTIAL", "client-secret")
    monkeypatch.setenv("CONNECTIONS__SROT__TENANT_ID", TENANT_ID)
    monkeypatch.setenv("CONNECTIONS__SROT__CLIENT_ID", APP_ID)
    monkeypatch.setenv("CONNECTIONS__SROT__SECRET", name)
    monkeypatch.setenv("JOB_SECRET_ROTATION_CONNECTION", "srot")
    return str(cred.key_id)


def password_ids(devstack: OfflineTenant) -> set[str]:
    """The keyIds of the sample app's passwords (the tenant model: what Graph and Entra see)."""
    return {p.key_id for p in sample_app(devstack).password_credentials}


def password_values(devstack: OfflineTenant) -> set[str]:
    """Every secret value the sample app has (to look for them where they must never be)."""
    return {p.secret for p in sample_app(devstack).password_credentials}


@pytest.fixture
def secret_rotating(rotating: Rotating, secret_env: None) -> Rotating:
    """`rotating` with what secret rotation needs besides (`secret_env`)."""
    return rotating
