"""The command-line tools read local.settings.json's Values the way the Functions host does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config.local_file import apply_local_settings


def test_values_fill_what_the_environment_lacks_and_never_override(tmp_path: Path) -> None:
    """A variable already set wins over the file; the file's others are added as strings."""
    path = tmp_path / "local.settings.json"
    path.write_text(
        json.dumps(
            {"IsEncrypted": False, "Values": {"KEY_VAULT_URL": "https://file/", "RUNS_RETENTION_DAYS": 7}}
        ),
        encoding="utf-8",
    )
    environ = {"KEY_VAULT_URL": "https://environment/"}
    apply_local_settings(path, environ)
    assert environ == {"KEY_VAULT_URL": "https://environment/", "RUNS_RETENTION_DAYS": "7"}


def test_no_file_changes_nothing(tmp_path: Path) -> None:
    """Without local.settings.json the environment is left as it is."""
    environ = {"A": "1"}
    apply_local_settings(tmp_path / "local.settings.json", environ)
    assert environ == {"A": "1"}


def test_by_default_the_file_is_local_settings_json_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a path, the current directory's `local.settings.json` is read (as `func start` does)."""
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"Values": {"A": "from-file"}}), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    environ: dict[str, str] = {}
    apply_local_settings(environ=environ)
    assert environ == {"A": "from-file"}
