"""shared/identity/_rotation.py: read once per version, re-checked on the cadence, kept on outages."""

from __future__ import annotations

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

    def read(self) -> tuple[str, str]:
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
