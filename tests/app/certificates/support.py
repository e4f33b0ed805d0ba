"""Shared by the bootstrap tests: a stand-in `az`, fresh app registrations, connection settings."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

import requests

from devstack.offline_tenant import OfflineTenant
from tests import caller_tokens as ct
from tests.conftest import tls_session

TENANT_ID = "434b7530-0ab7-490d-b439-d97439cdf1c4"
GRAPH_WRITE = "https://graph.microsoft.com/Application.ReadWrite.All"
WRITES = ("CreateCertificate", "UpdateApplication", "AddKey", "RemoveKey", "ImportCertificate")

# What azure-identity's AzureCliCredential runs: `az account get-access-token --output json
# --resource R [--tenant T]`. The stand-in signs FAKE_AZ_USER in as the real az does for
# `az login --use-device-code`: the device code flow of the Azure CLI's public client against the
# devstack's Entra, the "person" answering through its control endpoint; it prints az's JSON.
FAKE_AZ = """\
import json, os, sys, time
import requests
args = sys.argv[1:]
if args[:2] != ["account", "get-access-token"]:
    sys.exit(2)
user = os.environ.get("FAKE_AZ_USER")
if not user:
    print("ERROR: Please run 'az login' to setup account.", file=sys.stderr)
    sys.exit(1)
resource = args[args.index("--resource") + 1]
tenant = args[args.index("--tenant") + 1] if "--tenant" in args else os.environ["FAKE_AZ_TENANT"]
entra, cli = os.environ["FAKE_AZ_ENTRA"], "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
s = requests.Session()
s.trust_env = False
s.verify = os.environ["FAKE_AZ_CA"]
scope = resource.rstrip("/") + "/.default offline_access openid profile"
flow = s.post(f"{entra}/{tenant}/oauth2/v2.0/devicecode", data={"client_id": cli, "scope": scope}).json()
s.post(f"{entra}/_devstack/devicecode", json={"userCode": flow["user_code"], "user": user}).raise_for_status()
grant = "urn:ietf:params:oauth:grant-type:device_code"
answer = s.post(
    f"{entra}/{tenant}/oauth2/v2.0/token",
    data={"grant_type": grant, "client_id": cli, "device_code": flow["device_code"]},
).json()
if "access_token" not in answer:
    print("ERROR: " + answer.get("error_description", "sign-in failed"), file=sys.stderr)
    sys.exit(1)
expires = int(time.time()) + int(answer["expires_in"])
print(json.dumps({
    "accessToken": answer["access_token"],
    "expiresOn": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(expires)),
    "expires_on": expires,
    "subscription": "3e6ed6ae-a633-4a36-b8cd-e2abe4ef11fc",
    "tenant": tenant,
    "tokenType": "Bearer",
}))
"""


def install_fake_az(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    az = bin_dir / "az"
    az.write_text(f"#!{sys.executable}\n{FAKE_AZ}")
    az.chmod(0o755)


def new_app(devstack: OfflineTenant, owner: str = ct.ADELE) -> dict[str, Any]:
    """A fresh app registration created by `owner` through Graph (who thereby owns it)."""
    state = devstack.state()
    token = ct.user_token(state["authorityHost"], TENANT_ID, state["caBundle"], owner, GRAPH_WRITE)
    with tls_session(state["caBundle"]) as http:
        made = http.post(
            f"{devstack.servers['graph'].url}/v1.0/applications",
            json={"displayName": "bootstrap-" + secrets.token_hex(4)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert made.status_code == 201, made.text
    return dict(made.json())


def app_keys(devstack: OfflineTenant, http: requests.Session, app_id: str) -> dict[str, dict[str, Any]]:
    """The app's keyCredentials by upper-case thumbprint, as Graph lists them (read as the app's owner)."""
    state = devstack.state()
    token = ct.user_token(state["authorityHost"], TENANT_ID, state["caBundle"], ct.ADELE, GRAPH_WRITE)
    got = http.get(
        f"{devstack.servers['graph'].url}/v1.0/applications(appId='{app_id}')",
        params={"$select": "keyCredentials"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert got.status_code == 200, got.text
    return {str(k["customKeyIdentifier"]).upper(): k for k in got.json()["keyCredentials"]}


def operations(devstack: OfflineTenant, http: requests.Session, *, reset: bool = False) -> dict[str, int]:
    """Requests by operation on Key Vault and Graph since the last reset."""
    found: dict[str, int] = {}
    for server in ("keyvault", "graph"):
        url = f"{devstack.servers[server].url}/_devstack/requests"
        if reset:
            http.delete(url, timeout=10)
        else:
            found.update(http.get(url, timeout=10).json()["byOperation"])
    return found
