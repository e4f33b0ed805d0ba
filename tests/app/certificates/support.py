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

# The stand-ins sign FAKE_AZ_USER in as the real tools do for `az login --use-device-code`: the
# device code flow of the Azure CLI's public client against the devstack's Entra, the "person"
# answering through its control endpoint. `az` answers what azure-identity's AzureCliCredential
# runs (`az account get-access-token --output json --resource R [--tenant T]`), `azd` what
# AzureDeveloperCliCredential runs (`azd auth token --output json --no-prompt --scope S
# [--tenant-id T]`).
_SIGN_IN = """\
import json, os, sys, time
import requests
def sign_in(resource, tenant):
    user = os.environ.get("FAKE_AZ_USER")
    if not user:
        print("ERROR: Please run 'az login' to setup account.", file=sys.stderr)
        sys.exit(1)
    entra, cli = os.environ["FAKE_AZ_ENTRA"], "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    s = requests.Session()
    s.trust_env = False
    s.verify = os.environ["FAKE_AZ_CA"]
    scope = resource.rstrip("/") + "/.default offline_access openid profile"
    flow = s.post(f"{entra}/{tenant}/oauth2/v2.0/devicecode", data={"client_id": cli, "scope": scope}).json()
    signed_in = {"userCode": flow["user_code"], "user": user}
    s.post(f"{entra}/_devstack/devicecode", json=signed_in).raise_for_status()
    grant = "urn:ietf:params:oauth:grant-type:device_code"
    answer = s.post(
        f"{entra}/{tenant}/oauth2/v2.0/token",
        data={"grant_type": grant, "client_id": cli, "device_code": flow["device_code"]},
    ).json()
    if "access_token" not in answer:
        print("ERROR: " + answer.get("error_description", "sign-in failed"), file=sys.stderr)
        sys.exit(1)
    return answer["access_token"], int(time.time()) + int(answer["expires_in"])
def arg(name, default):
    return args[args.index(name) + 1] if name in args else default
args = sys.argv[1:]
"""

FAKE_AZ = (
    _SIGN_IN
    + """\
if args[:2] != ["account", "get-access-token"]:
    sys.exit(2)
tenant = arg("--tenant", os.environ["FAKE_AZ_TENANT"])
token, expires = sign_in(arg("--resource", ""), tenant)
print(json.dumps({
    "accessToken": token,
    "expiresOn": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(expires)),
    "expires_on": expires,
    "subscription": "3e6ed6ae-a633-4a36-b8cd-e2abe4ef11fc",
    "tenant": tenant,
    "tokenType": "Bearer",
}))
"""
)

FAKE_AZD = (
    _SIGN_IN
    + """\
if args[:2] != ["auth", "token"]:
    sys.exit(2)
scope = arg("--scope", "")
token, expires = sign_in(scope.removesuffix("/.default"), arg("--tenant-id", os.environ["FAKE_AZ_TENANT"]))
print(json.dumps({"token": token, "expiresOn": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}))
"""
)


def install_fake_az(bin_dir: Path) -> None:
    """`az` and `azd` stand-ins in `bin_dir` (put it first on PATH)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, script in (("az", FAKE_AZ), ("azd", FAKE_AZD)):
        tool = bin_dir / name
        tool.write_text(f"#!{sys.executable}\n{script}")
        tool.chmod(0o755)


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


def writes(found: dict[str, int]) -> dict[str, int]:
    """The writing operations among request counts (`operations`)."""
    return {k: v for k, v in found.items() if k in WRITES}


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
