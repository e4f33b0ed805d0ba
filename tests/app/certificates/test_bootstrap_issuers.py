"""The certificate bootstrap through a Key Vault CA issuer (CERTIFICATES__<NAME>__ISSUER): issued with
its chain and registered; refused before any change when the vault has no such issuer; a CA still
working leaves the request with Key Vault and a second run registers it; a CA's refusal names it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import requests

from devstack.offline_tenant import OfflineTenant
from shared.certificates import PATCH, bootstrap
from shared.certificates.__main__ import PENDING, main
from shared.identity import connection, reset_connections
from tests.app.certificates.issuers import ca_pace, chain_of, new_issuer
from tests.app.certificates.support import app_keys, new_app, operations, writes
from tests.app.context.support import call_context


def test_a_ca_issuer_issues_the_first_certificate_with_its_chain_and_the_bootstrap_registers_it(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Key Vault asks the CA; the leaf comes from the CA's issuing CA, chain kept; PATCH; twice: no-op."""
    issuer = new_issuer(devstack, http, delaySeconds=1)
    app = new_app(devstack)
    name = configure("ca", "certificate", app["appId"], subject="CN=ca bootstrap", issuer=issuer)
    operations(devstack, http, reset=True)

    assert main(["bootstrap"]) == 0
    out = capsys.readouterr().out
    assert f"CN=ca bootstrap, issuer {issuer}, RSA 2048, exportable, 12 months" in out
    assert "by updating keyCredentials as the deployer" in out
    first = operations(devstack, http)
    assert writes(first) == {"CreateCertificate": 1, "UpdateApplication": 1}
    assert first.get("GetCertificateIssuer") == 1  # the issuer is checked before anything is created
    assert first.get("GetCertificateOperation", 0) >= 1  # then the CA's answer is waited for

    leaf, chain = chain_of(devstack, name)
    assert leaf.issuer != leaf.subject  # not self-signed: the CA's issuing CA signed it
    [issuing] = chain
    assert leaf.issuer == issuing.subject
    leaf.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(devstack.tenant.ca.certificate)  # which chains to the root
    [made] = [t for t in app_keys(devstack, http, app["appId"])]
    assert f"ca: thumbprint {made}" in out

    reset_connections()  # the app, as the Function App would: managed identity reads Key Vault
    assert connection("ca").token("graph").value
    status, _, body = call_context("connection=ca")
    assert status == 200
    assert str(body["connections"]["ca"]["certificate"]["thumbprintSha1"]).upper() == made

    operations(devstack, http, reset=True)
    [again] = bootstrap(["ca"])
    assert not again.changed
    assert again.thumbprint == made
    second = operations(devstack, http)
    assert writes(second) == {}
    print(f"\nCA bootstrap requests: first run {first}, second run {second}")


def test_an_issuer_the_vault_does_not_have_is_refused_before_anything_is_created(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The ISSUER setting names no issuer object: exit 1 naming the setting and how to add one; no write."""
    app = new_app(devstack)
    name = configure("nope", "certificate", app["appId"], issuer="no-such-ca")
    operations(devstack, http, reset=True)

    assert main(["bootstrap"]) == 1
    err = capsys.readouterr().err
    assert "has no certificate issuer no-such-ca (CERTIFICATES__NOPE__ISSUER)" in err
    assert "az keyvault certificate issuer create" in err
    assert "CERTIFICATES__NOPE__ISSUER=Self" in err
    assert writes(operations(devstack, http)) == {}
    assert devstack.tenant.vault.latest_certificate(name) is None
    assert app_keys(devstack, http, app["appId"]) == {}


def test_a_ca_still_working_leaves_the_request_with_key_vault_and_a_second_run_registers_it(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--wait 0 with a CA that takes 2 s: exit 3, the request pending, nothing on the app; the second run
    waits on that same request (no second create), then registers the certificate."""
    issuer = new_issuer(devstack, http, delaySeconds=2)
    app = new_app(devstack)
    configure("slow", "keyvault-key", app["appId"], issuer=issuer)
    operations(devstack, http, reset=True)

    assert main(["bootstrap", "--wait", "0", "--json"]) == PENDING
    [pending] = json.loads(capsys.readouterr().out)["connections"]
    assert pending["issuer"] == issuer
    assert pending["created"] is True
    assert pending["thumbprint"] is None
    assert "Certificate request is in progress" in pending["pending"]  # Key Vault's own words
    assert app_keys(devstack, http, app["appId"]) == {}

    assert main(["bootstrap", "--wait", "0"]) == PENDING  # still with the CA: waiting, not asking again
    assert "slow: is waiting for certificate" in capsys.readouterr().out

    time.sleep(2.2)
    assert main(["bootstrap", "--wait", "30"]) == 0
    out = capsys.readouterr().out
    assert "slow: created" not in out  # the first run asked for it; this one finds it issued
    assert "slow: registered it on app" in out
    assert writes(operations(devstack, http)) == {"CreateCertificate": 1, "UpdateApplication": 1}
    [registered] = list(app_keys(devstack, http, app["appId"]))
    assert f"slow: thumbprint {registered}" in out
    reset_connections()
    assert connection("slow").token("graph").value  # signed by Key Vault with the CA-issued key


def test_a_ca_that_refuses_fails_the_bootstrap_at_create_in_its_own_words(
    devstack: OfflineTenant,
    deployer: str,
    configure: Callable[..., str],
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CA refuses: exit 1 at step create with the CA's reason; no version, nothing registered."""
    issuer = new_issuer(devstack, http, refuse="Organization validation is not complete for this account.")
    app = new_app(devstack)
    name = configure("refused", "certificate", app["appId"], issuer=issuer)

    assert main(["bootstrap", "--wait", "30"]) == 1
    err = capsys.readouterr().err
    assert "step create failed" in err
    assert f"issuer {issuer} did not issue certificate {name}" in err
    assert "Organization validation is not complete for this account." in err
    assert f"Check issuer {issuer}" in err  # the hint
    assert devstack.tenant.vault.latest_certificate(name) is None
    assert app_keys(devstack, http, app["appId"]) == {}

    ca_pace(devstack, http, issuer, refuse="")  # the CA's account is sorted out: a run succeeds
    [done] = bootstrap(["refused"], wait_s=30)
    assert done.created
    assert done.registered == PATCH
