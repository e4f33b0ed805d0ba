"""azd hooks (azure.yaml): values of the azd environment that azd does not set itself.

    python infra/hooks/azd_env.py preprovision
        AZURE_PRINCIPAL_TYPE  User or ServicePrincipal, from what azd is signed in as (the access
                              token of `azd auth token` is app-only for a service principal or a
                              managed identity), so that the deployer's role assignment names the
                              right principal type (infra/main.bicepparam reads it).
        AZURE_KEY_VAULT_SALT  a random suffix of the Key Vault name, created once.
    python infra/hooks/azd_env.py postprovision
        runs the certificate bootstrap (`python -m shared.certificates bootstrap --sign-in azd`,
        idempotent) with the deployment's settings: main.bicep's `bootstrapSettings` output, which
        azd keeps as BOOTSTRAPSETTINGS (KEY_VAULT_URL, AZURE_CLOUD, CONNECTIONS__<NAME>__*), over
        the azd environment (where CERTIFICATES__<NAME>__* choose each certificate's policy).
        Nothing to do without a certificate or keyvault-key connection. The project's .venv
        Python runs it when there is one (`make run` makes it), else this Python.
    python infra/hooks/azd_env.py postdown
        AZURE_KEY_VAULT_SALT  a new suffix: the deleted vault keeps its name while purge protection
                              holds it, so the next `azd up` creates a vault under a new name.

Standard library only (it runs before anything is installed; the bootstrap is a child process).
The token is decoded without verification, only to read the `idtyp` and `scp` claims, and never
printed.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import string
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SALT_ALPHABET = string.ascii_lowercase + string.digits
SALT_LENGTH = 6
ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP_PENDING = 3  # the bootstrap's exit status when a CA issuer has not issued yet
BOOTSTRAP_OUTPUT = "BOOTSTRAPSETTINGS"  # main.bicep `output bootstrapSettings`, as azd names it
BOOTSTRAP_KINDS = {"certificate", "keyvault-key"}


class HookError(Exception):
    """What the user must do, when the hook cannot do its job."""


def azd(*args: str) -> str:
    """Run azd with the arguments; its standard output, or HookError with its message."""
    # The azd on PATH, which is running this hook; the arguments are ours.
    command = ["azd", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise HookError("azd is not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise HookError(f"azd {args[0]} {args[1]} did not answer within 120 s") from exc
    if done.returncode != 0:
        raise HookError(f"azd {args[0]} {args[1]} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


def set_value(name: str, value: str, environ: Mapping[str, str]) -> None:
    environment = environ.get("AZURE_ENV_NAME")
    azd("env", "set", *(["--environment", environment] if environment else []), name, value)
    print(f"azd env: {name}={value}")


def token_claims(output: str) -> dict[str, Any]:
    """The claims of the token in `azd auth token --output json` (its last JSON line with a token)."""
    for line in reversed(output.strip().splitlines()):
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        token = answer.get("token") if isinstance(answer, dict) else None
        if isinstance(token, str) and token.count(".") == 2:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            if isinstance(claims, dict):
                return claims
    raise HookError("azd auth token printed no access token")


def principal_type(claims: Mapping[str, Any]) -> str:
    """ServicePrincipal for an app-only token (service principal, managed identity), else User."""
    if claims.get("idtyp") == "app" or "scp" not in claims:
        return "ServicePrincipal"
    return "User"


def new_salt() -> str:
    return "".join(secrets.choice(SALT_ALPHABET) for _ in range(SALT_LENGTH))


def preprovision(environ: Mapping[str, str]) -> None:
    try:
        kind = principal_type(token_claims(azd("auth", "token", "--output", "json")))
    except HookError as exc:
        if not environ.get("AZURE_PRINCIPAL_TYPE"):
            raise HookError(
                f"cannot tell whether azd is signed in as a user or a service principal ({exc}): "
                "run `azd auth login`, or `azd env set AZURE_PRINCIPAL_TYPE User` (or ServicePrincipal)"
            ) from exc
        print(f"azd env: keeping AZURE_PRINCIPAL_TYPE={environ['AZURE_PRINCIPAL_TYPE']} ({exc})")
    else:
        if environ.get("AZURE_PRINCIPAL_TYPE") != kind:
            set_value("AZURE_PRINCIPAL_TYPE", kind, environ)
    if not environ.get("AZURE_KEY_VAULT_SALT"):
        set_value("AZURE_KEY_VAULT_SALT", new_salt(), environ)


def bootstrap_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """main.bicep's bootstrapSettings output (a JSON object of setting name to value), or {}."""
    raw = next((v for k, v in environ.items() if k.upper() == BOOTSTRAP_OUTPUT), "")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise HookError(f"{BOOTSTRAP_OUTPUT} is not JSON; run `azd provision` again") from exc
    if not isinstance(value, dict):
        raise HookError(f"{BOOTSTRAP_OUTPUT} is not a JSON object; run `azd provision` again")
    return {str(k): str(v) for k, v in value.items()}


def project_python() -> str:
    """The .venv's Python when there is one, else this one (which must have the requirements)."""
    for candidate in (ROOT / ".venv" / "bin" / "python", ROOT / ".venv" / "Scripts" / "python.exe"):
        if candidate.exists():
            return str(candidate)
    if importlib.util.find_spec("azure.identity") is None:
        raise HookError(
            "the certificate bootstrap needs the app's requirements: run `make run` once (it makes .venv), "
            "or `python3 -m pip install -r requirements.txt`, then `azd hooks run postprovision`"
        )
    return sys.executable


def postprovision(environ: Mapping[str, str]) -> None:
    settings = bootstrap_settings(environ)
    kinds = {v for k, v in settings.items() if k.upper().endswith("__CREDENTIAL")}
    if not kinds & BOOTSTRAP_KINDS:
        print("postprovision: no certificate or keyvault-key connection; no certificate to bootstrap")
        return
    # The deployment's own settings win over stale values of the azd environment.
    env = {**environ, **settings}
    command = [project_python(), "-m", "shared.certificates", "bootstrap", "--sign-in", "azd"]
    print("postprovision: " + " ".join(command[1:]), flush=True)
    # Our interpreter and arguments; the bootstrap prints what it did (never a secret).
    done = subprocess.run(command, cwd=ROOT, env=env, timeout=900, check=False)  # noqa: S603
    if done.returncode == BOOTSTRAP_PENDING:
        # A CA issuer is still working on a certificate: provisioning succeeded, the bootstrap
        # registers the certificate when run again after the CA has issued it.
        print(
            "postprovision: a certificate is still with its CA issuer (above); once it is issued, run "
            "`azd hooks run postprovision` to register it",
            flush=True,
        )
        return
    if done.returncode != 0:
        raise HookError(
            "the certificate bootstrap failed (its message is above); fix it, then run "
            "`azd hooks run postprovision` (the bootstrap is idempotent)"
        )


def postdown(environ: Mapping[str, str]) -> None:
    set_value("AZURE_KEY_VAULT_SALT", new_salt(), environ)


def main(argv: list[str]) -> int:
    hooks = {"preprovision": preprovision, "postprovision": postprovision, "postdown": postdown}
    if len(argv) != 2 or argv[1] not in hooks:
        print(f"usage: {argv[0]} {'|'.join(hooks)}", file=sys.stderr)
        return 2
    try:
        hooks[argv[1]](os.environ)
    except HookError as exc:
        print(f"{argv[1]} hook: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
