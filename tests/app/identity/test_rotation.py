"""shared/identity/_rotation.py: read once per version, re-checked on the cadence, kept on outages."""

from __future__ import annotations

import dataclasses
import logging
import threading

import pytest

from shared.errors import ConfigurationError, KeyVaultError
from shared.identity._rotation import ROTATION_CODES, VersionedMaterial, is_stale_credential


class Vault:
    """A scripted Key Vault read: the version to answer, or an error to raise."""

    def __init__(self) -> None:
        self.version = "v1"
        self.error: Exception | None = None
        self.reads = 0
        self.parses = 0
        self.slow = False  # when set, a read waits for `release` (after setting `entered`)
        self.entered = threading.Event()
        self.release = threading.Event()

    def read(self) -> tuple[str, str]:
        if self.slow:
            self.entered.set()
            self.release.wait(10)
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.version, f"raw-{self.version}"

    def parse(self, raw: str) -> str:
        self.parses += 1
        return raw.upper()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _material(vault: Vault, clock: Clock) -> VersionedMaterial[str, str]:
    return VersionedMaterial(vault.read, vault.parse, interval_s=600, clock=clock)


def test_within_the_interval_no_read() -> None:
    """After the first read, current() does not read again until the interval has passed."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    assert material.current().material == "RAW-V1"
    clock.now += 599
    assert material.current().version == "v1"
    assert vault.reads == 1


def test_after_the_interval_one_read_and_a_new_version_is_parsed() -> None:
    """Past the interval, current() reads once; a new version is parsed once, an unchanged one not."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    material.current()
    clock.now += 601
    assert material.current().version == "v1"
    assert (vault.reads, vault.parses) == (2, 1)
    vault.version = "v2"
    clock.now += 601
    assert material.current().material == "RAW-V2"
    assert (vault.reads, vault.parses) == (3, 2)
    clock.now += 10
    material.current()
    assert vault.reads == 3  # the check restarted the interval


def test_an_outage_on_a_periodic_check_keeps_the_material() -> None:
    """A Key Vault outage during a re-check keeps the current version and waits another interval."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    material.current()
    vault.error = KeyVaultError("down", status=503, outage=True)
    clock.now += 601
    assert material.current().version == "v1"
    clock.now += 100
    assert material.current().version == "v1"
    assert vault.reads == 2


def test_a_misconfiguration_on_a_re_check_is_raised() -> None:
    """A re-check that is refused (not an outage) raises: the material may no longer be allowed."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    material.current()
    vault.error = KeyVaultError("gone", status=404)
    clock.now += 601
    with pytest.raises(KeyVaultError, match="gone"):
        material.current()


def test_an_outage_on_the_first_read_is_raised() -> None:
    """Without material yet, an outage is raised (there is nothing to keep)."""
    vault, clock = Vault(), Clock()
    vault.error = KeyVaultError("down", status=503, outage=True)
    with pytest.raises(KeyVaultError, match="down"):
        _material(vault, clock).current()


def test_reload_reads_now_and_says_whether_the_version_changed() -> None:
    """reload() reads at once: False for the same version, True for a new one."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    material.current()
    assert material.reload() is False
    vault.version = "v2"
    assert material.reload() is True
    assert material.peek() is not None
    assert vault.reads == 3


def test_only_credential_codes_trigger_a_reload() -> None:
    """Certificate and secret refusals are stale-credential codes; a tenant or scope error is not."""
    assert {700027, 700024, 7000215, 7000222, 700023} == ROTATION_CODES
    assert is_stale_credential(700027)
    assert not is_stale_credential(90002)
    assert not is_stale_credential(None)
    assert not isinstance(ConfigurationError("x"), KeyVaultError)


def _two_at_once(vault: Vault, material: VersionedMaterial[str, str]) -> list[str]:
    """Two current() calls, the second started while the first is inside its Key Vault read."""
    vault.slow = True
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(material.current().version)) for _ in range(2)]
    threads[0].start()
    assert vault.entered.wait(10)
    threads[1].start()
    threads[1].join(0.2)  # the second caller is now waiting for the lock the first holds
    vault.release.set()
    for t in threads:
        t.join(10)
    return results


def test_a_read_in_progress_is_shared_by_a_concurrent_cold_call() -> None:
    """Two cold callers read Key Vault once: the second waits for the first's read and uses it."""
    vault, clock = Vault(), Clock()
    assert _two_at_once(vault, _material(vault, clock)) == ["v1", "v1"]
    assert (vault.reads, vault.parses) == (1, 1)


def test_a_stale_check_in_progress_is_shared_too() -> None:
    """Past the interval, two callers at once make one read, not two."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    material.current()
    clock.now += 601
    assert _two_at_once(vault, material) == ["v1", "v1"]
    assert vault.reads == 2


def test_the_outage_warning_names_the_status_and_the_kept_version(caplog: pytest.LogCaptureFixture) -> None:
    """Keeping a version through an outage logs the status and the version kept (no secret)."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    material.current()
    vault.error = KeyVaultError("down", status=503, outage=True)
    clock.now += 601
    with caplog.at_level(logging.INFO, logger="shared.identity._rotation"):
        material.current()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "Key Vault check for a new version failed (503); keeping version v1")
    ]


def test_a_new_version_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """Each version read is logged at INFO by its name, once; an unchanged re-read says nothing."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    with caplog.at_level(logging.INFO, logger="shared.identity._rotation"):
        material.current()
        clock.now += 601
        material.current()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "Loaded Key Vault version v1")
    ]


def test_pin_uses_an_older_version_until_the_next_check(caplog: pytest.LogCaptureFixture) -> None:
    """pin() parses the given version, serves it within the interval without a read, and says so."""
    vault, clock = Vault(), Clock()
    material = _material(vault, clock)
    material.current()
    vault.version = "v2"
    with caplog.at_level(logging.WARNING, logger="shared.identity._rotation"):
        material.pin("v0", "raw-v0")
    assert [r.getMessage() for r in caplog.records] == [
        "Falling back to Key Vault version v0 until the next check"
    ]
    clock.now += 599
    assert (material.current().version, material.current().material) == ("v0", "RAW-V0")
    assert vault.reads == 1
    clock.now += 2
    assert material.current().version == "v2"


def test_a_clock_that_starts_near_zero_still_reads_first() -> None:
    """A monotonic clock just after boot (below the interval) does not skip the first read."""
    vault, clock = Vault(), Clock()
    clock.now = 5.0
    material = _material(vault, clock)
    assert material.current().version == "v1"
    assert vault.reads == 1


def test_a_version_handed_out_cannot_be_changed() -> None:
    """What current() hands out is shared by every caller: read-only."""
    vault, clock = Vault(), Clock()
    found = _material(vault, clock).current()
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.version = "v9"  # type: ignore[misc]  # the point: it is frozen
