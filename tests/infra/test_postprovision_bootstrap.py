"""The azd postprovision hook runs the certificate bootstrap, as azd runs it, against the emulators.

The hook is a subprocess with a stand-in `azd` first on PATH (it signs the deployer in through the
devstack's device code flow); the deployment's settings come as azd passes main.bicep's
`bootstrapSettings` output (BOOTSTRAPSETTINGS). Not marked `infra`: it needs the devstack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devstack.offline_tenant import OfflineTenant
from tests import caller_tokens as ct
from tests.app.certificates.support import TENANT_ID, app_keys, install_fake_az, new_app
from tests.conftest import tls_session
from tests.infra.support import INFRA

HOOK = INFRA / "hooks" / "azd_env.py"


def test_postprovision_bootstraps_the_certificate_once(devstack: OfflineTenant, tmp_path: Path) -> None:
    """First run: created and registered, with the thumbprint; second run: unchanged. No token printed."""
    app = new_app(devstack)
    install_fake_az(tmp_path / "bin")
    settings = {
        "KEY_VAULT_URL": devstack.servers["keyvault"].url,
        "AZURE_CLOUD": "AzureCloud",
        "CONNECTIONS__HOOKED__CREDENTIAL": "certificate",
        "CONNECTIONS__HOOKED__TENANT_ID": TENANT_ID,
        "CONNECTIONS__HOOKED__CLIENT_ID": app["appId"],
        "CONNECTIONS__HOOKED__CERTIFICATE": "hooked-" + app["appId"][:8],
        "CONNECTIONS__HOOKED__SEND_CERTIFICATE_CHAIN": "false",
    }
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTIONS__", "CERTIFICATES__"))}
    environ = {
        **inherited,
        **devstack.app_settings(),  # where Entra, Graph and the CA are (none of these in Azure)
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AZ_ENTRA": devstack.servers["entra"].url,
        "FAKE_AZ_CA": devstack.state()["caBundle"],
        "FAKE_AZ_TENANT": TENANT_ID,
        "FAKE_AZ_USER": ct.ADELE,
        "AZURE_ENV_NAME": "dev",
        "BOOTSTRAPSETTINGS": json.dumps(settings),
        "CERTIFICATES__HOOKED__SUBJECT": "CN=hooked",
    }
    runs = [
        subprocess.run(
            [sys.executable, str(HOOK), "postprovision"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for _ in range(2)
    ]
    first, second = runs
    assert first.returncode == 0, first.stderr
    assert "hooked: created certificate" in first.stdout
    assert "CN=hooked, self-signed" in first.stdout
    with tls_session(devstack.state()["caBundle"]) as http:
        [thumbprint] = app_keys(devstack, http, app["appId"])
    assert f"hooked: thumbprint {thumbprint}" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "hooked: unchanged" in second.stdout
    assert "changed 0, unchanged 1" in second.stdout
    for run in runs:
        assert "eyJ" not in run.stdout + run.stderr
