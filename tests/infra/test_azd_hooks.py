"""The azd hooks (infra/hooks/azd_env.py, azure.yaml): principal type, vault salt, certificate bootstrap.

The hook runs as azd runs it, a subprocess with `azd` on PATH; here that `azd` is a stand-in script
that answers `azd auth token --output json` with a token carrying the given claims (or fails) and
records each `azd env set`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.support import INFRA, ROOT

pytestmark = pytest.mark.infra

HOOK = INFRA / "hooks" / "azd_env.py"

FAKE_AZD = """\
import json, os, sys
args = sys.argv[1:]
if args[:2] == ["auth", "token"]:
    token = os.environ.get("FAKE_AZD_TOKEN")
    if not token:
        print(json.dumps({"error": "not logged in", "suggestion": "Run 'azd auth login' to sign in again."}))
        sys.exit(1)
    print(json.dumps({"type": "consoleMessage", "data": {"message": "\\\\n"}}))
    print(json.dumps({"token": token, "expiresOn": "2026-12-01T23:00:00Z"}))
elif args[:2] == ["env", "set"]:
    with open(os.environ["FAKE_AZD_LOG"], "a") as log:
        log.write(json.dumps(args[2:]) + "\\n")
else:
    sys.exit(2)
"""


def jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def run_hook(
    tmp_path: Path, hook: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """Run the hook with the stand-in azd first on PATH; its result and the `azd env set` calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    azd = bin_dir / "azd"
    azd.write_text(f"#!{sys.executable}\n{FAKE_AZD}")
    azd.chmod(0o755)
    log = tmp_path / "env-set.jsonl"
    environ = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AZD_LOG": str(log),
        "AZURE_ENV_NAME": "dev",
        **env,
    }
    done = subprocess.run(
        [sys.executable, str(HOOK), hook],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls


def test_a_user_sign_in_sets_principal_type_user_and_a_salt(tmp_path: Path) -> None:
    """A delegated token (scp) sets AZURE_PRINCIPAL_TYPE=User and a new 6-character salt, in the azd env."""
    done, calls = run_hook(
        tmp_path, "preprovision", FAKE_AZD_TOKEN=jwt({"idtyp": "user", "scp": "user_impersonation"})
    )
    assert done.returncode == 0, done.stderr
    assert calls[0] == ["--environment", "dev", "AZURE_PRINCIPAL_TYPE", "User"]
    assert calls[1][:3] == ["--environment", "dev", "AZURE_KEY_VAULT_SALT"]
    assert re.fullmatch(r"[a-z0-9]{6}", calls[1][3])
    assert len(calls) == 2


def test_a_service_principal_sign_in_sets_service_principal(tmp_path: Path) -> None:
    """An app-only token (idtyp app, no scp), as in CI, sets ServicePrincipal; an existing salt is kept."""
    token = jwt({"idtyp": "app", "roles": [], "oid": "00000000-0000-0000-0000-000000000001"})
    done, calls = run_hook(tmp_path, "preprovision", FAKE_AZD_TOKEN=token, AZURE_KEY_VAULT_SALT="abc123")
    assert done.returncode == 0, done.stderr
    assert calls == [["--environment", "dev", "AZURE_PRINCIPAL_TYPE", "ServicePrincipal"]]
    assert token not in done.stdout + done.stderr


def test_a_managed_identity_token_without_idtyp_is_a_service_principal(tmp_path: Path) -> None:
    """A token with neither idtyp nor scp (app-only) is a service principal; an unchanged value stays."""
    done, calls = run_hook(
        tmp_path,
        "preprovision",
        FAKE_AZD_TOKEN=jwt({"oid": "x"}),
        AZURE_PRINCIPAL_TYPE="ServicePrincipal",
        AZURE_KEY_VAULT_SALT="abc123",
    )
    assert done.returncode == 0, done.stderr
    assert calls == []


def test_no_sign_in_fails_with_what_to_do(tmp_path: Path) -> None:
    """Without a token and without AZURE_PRINCIPAL_TYPE the hook fails, naming `azd auth login`."""
    done, calls = run_hook(tmp_path, "preprovision")
    assert done.returncode == 1
    assert "azd auth login" in done.stderr
    assert "AZURE_PRINCIPAL_TYPE" in done.stderr
    assert calls == []


def test_no_sign_in_keeps_an_explicit_principal_type(tmp_path: Path) -> None:
    """Without a token, an AZURE_PRINCIPAL_TYPE already set is kept and provisioning goes on."""
    done, calls = run_hook(
        tmp_path, "preprovision", AZURE_PRINCIPAL_TYPE="Group", AZURE_KEY_VAULT_SALT="abc123"
    )
    assert done.returncode == 0, done.stderr
    assert "keeping AZURE_PRINCIPAL_TYPE=Group" in done.stdout
    assert calls == []


def test_postdown_rotates_the_salt(tmp_path: Path) -> None:
    """After `azd down` the salt changes, so the next vault gets a name the deleted one does not hold."""
    done, calls = run_hook(tmp_path, "postdown", AZURE_KEY_VAULT_SALT="abc123")
    assert done.returncode == 0, done.stderr
    assert len(calls) == 1
    assert calls[0][2] == "AZURE_KEY_VAULT_SALT"
    assert re.fullmatch(r"[a-z0-9]{6}", calls[0][3])
    assert calls[0][3] != "abc123"


def test_postprovision_without_a_certificate_connection_does_nothing(tmp_path: Path) -> None:
    """No certificate or keyvault-key connection in the deployment: the hook says so and succeeds."""
    settings = {
        "KEY_VAULT_URL": "https://kv.vault.azure.net/",
        "CONNECTIONS__GRAPH__CREDENTIAL": "managed-identity",
    }
    done, calls = run_hook(tmp_path, "postprovision", BOOTSTRAPSETTINGS=json.dumps(settings))
    assert done.returncode == 0, done.stderr
    assert "no certificate to bootstrap" in done.stdout
    assert calls == []
    done, _ = run_hook(tmp_path, "postprovision")  # no output at all (a template without connections)
    assert done.returncode == 0, done.stderr


def test_postprovision_with_unreadable_settings_fails_saying_what_to_do(tmp_path: Path) -> None:
    """BOOTSTRAPSETTINGS that is not a JSON object fails the hook, naming `azd provision`."""
    done, _ = run_hook(tmp_path, "postprovision", BOOTSTRAPSETTINGS="[1, 2]")
    assert done.returncode == 1
    assert "BOOTSTRAPSETTINGS is not a JSON object" in done.stderr
    assert "azd provision" in done.stderr


def test_main_outputs_what_the_bootstrap_reads() -> None:
    """main.bicep's bootstrapSettings output: the vault, the cloud and the connections' settings."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert (
        "output bootstrapSettings object = union({\n  KEY_VAULT_URL: keyVault.outputs.uri\n"
        "  AZURE_CLOUD: cloudName\n}, connectionSettings.outputs.settings)"
    ) in main
    hook = HOOK.read_text(encoding="utf-8")
    assert 'BOOTSTRAP_OUTPUT = "BOOTSTRAPSETTINGS"' in hook  # azd upper-cases output names
    assert '"-m", "shared.certificates", "bootstrap", "--sign-in", "azd"' in hook


def test_azure_yaml_runs_the_hooks_on_both_platforms() -> None:
    """azure.yaml runs the preprovision, postprovision and postdown hooks with sh and pwsh."""
    manifest = (ROOT / "azure.yaml").read_text(encoding="utf-8")
    for hook in ("preprovision", "postprovision", "postdown"):
        assert (
            f"  {hook}:\n    posix:\n      shell: sh\n      run: python3 infra/hooks/azd_env.py {hook}\n"
            f"    windows:\n      shell: pwsh\n      run: python infra/hooks/azd_env.py {hook}\n"
        ) in manifest
    params = (INFRA / "main.bicepparam").read_text(encoding="utf-8")
    assert "readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')" in params
