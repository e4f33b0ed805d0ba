"""An operation in progress: its pending version, 409 on a second create, merge (Unknown), cancel, delete."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificateOperation, CertificatePolicy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.offline_tenant import OfflineTenant
from devstack.tenant.pki import CertificateAuthority
from tests.devstack.keyvault.conftest import API, create

MERGE_NEEDED = "Pending certificate created. Please Perform Merge to complete the request."


def _stuck(client: CertificateClient, http: requests.Session, kv: str) -> tuple[str, dict[str, object]]:
    """A certificate whose issuer (provider `Test`) never answers: (name, the create answer)."""
    issuer = "test-" + secrets.token_hex(4)
    client.create_issuer(issuer, "Test")
    name = "stuck-" + secrets.token_hex(4)
    body = {
        "policy": {"issuer": {"name": issuer}, "x509_props": {"subject": f"CN={name}", "validity_months": 3}}
    }
    r = http.post(f"{kv}/certificates/{name}/create", params=API, json=body)
    assert r.status_code == 202, r.text
    return name, r.json()


def test_the_pending_version_is_readable_but_has_no_certificate(
    client: CertificateClient, officer_http: requests.Session, kv: str
) -> None:
    name, created = _stuck(client, officer_http, kv)
    latest = officer_http.get(f"{kv}/certificates/{name}/", params=API)
    assert latest.status_code == 200
    body = latest.json()
    version = body["id"].rsplit("/", 1)[1]
    assert body["id"] == f"{kv}/certificates/{name}/{version}"
    assert body["pending"] == {"id": f"{kv}/certificates/{name}/pending"}
    assert body["attributes"]["enabled"] is False
    assert abs(body["attributes"]["nbf"] - dt.datetime.now(dt.UTC).timestamp()) < 120
    assert 85 * 86400 < body["attributes"]["exp"] - body["attributes"]["nbf"] < 95 * 86400
    assert body["policy"]["issuer"]["name"] == created["issuer"]["name"]  # type: ignore[index]
    assert not {"cer", "x5t", "kid", "sid"} & set(body)
    assert officer_http.get(f"{kv}/certificates/{name}/{version}", params=API).json() == body
    versions = officer_http.get(f"{kv}/certificates/{name}/versions", params=API).json()["value"]
    assert [(v["id"], v["attributes"]["enabled"], "x5t" in v) for v in versions] == [
        (body["id"], False, False)
    ]
    assert officer_http.get(f"{kv}/secrets/{name}/", params=API).status_code == 404
    assert officer_http.get(f"{kv}/keys/{name}/", params=API).status_code == 404


def test_a_second_create_while_in_progress_is_409(
    client: CertificateClient, officer_http: requests.Session, kv: str
) -> None:
    name, _ = _stuck(client, officer_http, kv)
    r = officer_http.post(f"{kv}/certificates/{name}/create", params=API, json={})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "Conflict"
    assert r.json()["error"]["message"].startswith(f"Certificate {name} is currently being created.")


def test_cancel_and_delete_end_the_operation(
    client: CertificateClient, officer_http: requests.Session, kv: str
) -> None:
    """cancel -> `cancelled` (no pending version left); delete -> the operation goes; a create may start."""
    name, _ = _stuck(client, officer_http, kv)
    cancelled = client.cancel_certificate_operation(name)
    assert (cancelled.status, cancelled.cancellation_requested) == ("cancelled", True)
    assert officer_http.get(f"{kv}/certificates/{name}/", params=API).status_code == 404
    deleted = client.delete_certificate_operation(name)
    assert deleted.status == "cancelled"
    r = officer_http.delete(f"{kv}/certificates/{name}/pending", params=API)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "PendingCertificateNotFound"
    assert create(client, name, CertificatePolicy.get_default()).cer is not None


def _sign(csr_der: bytes, ca: CertificateAuthority) -> x509.Certificate:
    csr = x509.load_der_x509_csr(csr_der)
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca.key, hashes.SHA256())
    )


def test_unknown_waits_for_a_merge(
    client: CertificateClient, officer_http: requests.Session, kv: str
) -> None:
    """Unknown: a CSR, `Please Perform Merge`; a wrong key is refused, the signed leaf completes it (201)."""
    name = "merged-" + secrets.token_hex(4)
    policy = CertificatePolicy(issuer_name="Unknown", subject=f"CN={name}")
    op = client.begin_create_certificate(name, policy, _polling_interval=0).result()
    assert isinstance(op, CertificateOperation)
    assert (op.status, op.status_details, op.issuer_name) == ("inProgress", MERGE_NEEDED, "Unknown")
    assert op.csr is not None
    assert op.request_id

    ca = CertificateAuthority("merge test CA")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = (
        x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(stranger, hashes.SHA256())
    )
    wrong = _sign(other.public_bytes(serialization.Encoding.DER), ca)
    with pytest.raises(HttpResponseError) as caught:
        client.merge_certificate(name, [wrong.public_bytes(serialization.Encoding.DER)])
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"
    assert client.get_certificate_operation(name).status == "inProgress"

    leaf = _sign(op.csr, ca)
    der = [
        leaf.public_bytes(serialization.Encoding.DER),
        ca.certificate.public_bytes(serialization.Encoding.DER),
    ]
    merged = client.merge_certificate(name, der)
    assert bytes(merged.cer or b"") == der[0]
    assert merged.properties is not None
    assert merged.properties.enabled is True
    assert merged.policy is not None
    assert merged.policy.issuer_name == "Unknown"
    assert client.get_certificate_operation(name).status == "completed"
    r = officer_http.post(f"{kv}/certificates/{name}/pending/merge", params=API, json={"x5c": [der[0].hex()]})
    assert r.status_code == 404


@pytest.mark.parametrize("x5c", [None, [], [5], ["!!!"], ["QUJD"]])
def test_malformed_merges_are_bad_parameter(
    client: CertificateClient, officer_http: requests.Session, kv: str, x5c: object
) -> None:
    name = "badmerge-" + secrets.token_hex(4)
    client.begin_create_certificate(name, CertificatePolicy(issuer_name="Unknown", subject=f"CN={name}"))
    r = officer_http.post(f"{kv}/certificates/{name}/pending/merge", params=API, json={"x5c": x5c})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "BadParameter"


def test_imported_certificates_read_as_completed(
    devstack: OfflineTenant, officer_http: requests.Session, kv: str
) -> None:
    """A certificate with no create operation (seeded, imported) still answers GET pending `completed`."""
    r = officer_http.get(f"{kv}/certificates/entra-automation-cert/pending", params=API)
    assert r.status_code == 200
    assert r.json()["status"] == "completed"
