"""Create by issuer: Self is self-signed, a partnered provider's CA signs after a delay, refusals fail."""

from __future__ import annotations

import base64
import secrets
import time

import requests
from azure.keyvault.certificates import CertificateClient, CertificateOperation, CertificatePolicy
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from devstack.offline_tenant import OfflineTenant
from tests.devstack.keyvault.conftest import API, Deployer, create

IN_PROGRESS = (
    "Pending certificate created. Certificate request is in progress. "
    "This may take some time based on the issuer provider. Please check again later."
)


def _issuer(
    client: CertificateClient, http: requests.Session, kv: str, provider: str, **settings: object
) -> str:
    name = "ca-" + secrets.token_hex(4)
    client.create_issuer(name, provider)
    r = http.post(f"{kv}/_devstack/issuers/{name}", json=settings)
    assert r.status_code == 200, r.text
    return name


def _pfx_certs(devstack: OfflineTenant, deployer: Deployer, name: str) -> list[x509.Certificate]:
    secrets_client = SecretClient(
        devstack.servers["keyvault"].url,
        deployer,
        verify_challenge_resource=False,
        connection_verify=devstack.state()["caBundle"],
    )
    value = secrets_client.get_secret(name).value
    assert value is not None
    _, leaf, chain = pkcs12.load_key_and_certificates(base64.b64decode(value), None)
    assert leaf is not None
    return [leaf, *chain]


def test_self_is_self_signed(client: CertificateClient, devstack: OfflineTenant, deployer: Deployer) -> None:
    """Issuer `Self`: issuer DN == subject DN, signed by its own key; the PFX holds only the leaf."""
    name = "self-" + secrets.token_hex(4)
    made = create(client, name, CertificatePolicy(issuer_name="Self", subject=f"CN={name}"))
    assert made.cer is not None
    cert = x509.load_der_x509_certificate(bytes(made.cer))
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    assert [c.subject for c in _pfx_certs(devstack, deployer, name)] == [cert.subject]
    assert client.get_certificate_policy(name).issuer_name == "Self"


def test_a_partnered_provider_issues_after_its_delay(
    client: CertificateClient,
    officer_http: requests.Session,
    kv: str,
    devstack: OfflineTenant,
    deployer: Deployer,
) -> None:
    """DigiCert: 202 inProgress with a CSR, Retry-After and Location; after the delay the next read
    completes it, signed by the provider's devstack issuing CA (under tenant.ca); the PFX holds leaf + CA."""
    issuer = _issuer(client, officer_http, kv, "DigiCert", delaySeconds=1)
    name = "digicert-" + secrets.token_hex(4)
    policy = {"issuer": {"name": issuer.upper()}, "x509_props": {"subject": f"CN={name}"}}
    r = officer_http.post(f"{kv}/certificates/{name}/create", params=API, json={"policy": policy})
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["status"], body["status_details"], body["issuer"]) == (
        "inProgress",
        IN_PROGRESS,
        {"name": issuer},
    )
    assert r.headers["Retry-After"] == "10"
    assert (
        r.headers["Location"]
        == f"{kv}/certificates/{name}/pending?api-version=7.6&request_id={body['request_id']}"
    )
    csr = x509.load_der_x509_csr(base64.b64decode(body["csr"]))
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == f"CN={name}"

    still = officer_http.get(f"{kv}/certificates/{name}/pending", params=API)
    assert still.json()["status"] == "inProgress"
    assert still.headers["Retry-After"] == "10"
    time.sleep(1.1)
    done = officer_http.get(f"{kv}/certificates/{name}/pending", params=API)
    assert done.json()["status"] == "completed"
    assert done.json()["target"] == f"{kv}/certificates/{name}"
    assert not done.json().get("status_details")
    assert "Retry-After" not in done.headers

    leaf, *chain = _pfx_certs(devstack, deployer, name)
    assert [c.subject.rfc4514_string() for c in chain] == [
        "O=devstack,CN=devstack DigiCert stand-in issuing CA"
    ]
    assert leaf.public_key().public_numbers() == csr.public_key().public_numbers()  # type: ignore[union-attr]
    assert leaf.issuer == chain[0].subject
    leaf.verify_directly_issued_by(chain[0])
    chain[0].verify_directly_issued_by(devstack.tenant.ca.certificate)
    assert chain[0].extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert client.get_certificate(name).policy.issuer_name == issuer  # type: ignore[union-attr]


def test_a_renewal_goes_through_the_same_issuer(
    client: CertificateClient, officer_http: requests.Session, kv: str
) -> None:
    """get_certificate_policy -> begin_create_certificate: the new version comes from the same issuing CA."""
    issuer = _issuer(client, officer_http, kv, "GlobalSign", delaySeconds=0)
    name = "renewed-" + secrets.token_hex(4)
    policy = CertificatePolicy(issuer_name=issuer, subject=f"CN={name}")
    first = create(client, name, policy)
    again = client.get_certificate_policy(name)
    assert again.issuer_name == issuer
    second = create(client, name, again)
    assert first.id != second.id
    for made in (first, second):
        assert made.cer is not None
        cert = x509.load_der_x509_certificate(bytes(made.cer))
        assert cert.issuer.rfc4514_string() == "O=devstack,CN=devstack GlobalSign stand-in issuing CA"


def test_a_refused_issuance_fails_and_leaves_no_version(
    client: CertificateClient, officer_http: requests.Session, kv: str
) -> None:
    """`refuse`: the operation ends failed with that text; no pending version, the previous is latest."""
    issuer = _issuer(client, officer_http, kv, "OneCertV2-PrivateCA", delaySeconds=0)
    name = "refused-" + secrets.token_hex(4)
    before = create(client, name, CertificatePolicy(issuer_name="Self", subject=f"CN={name}"))
    officer_http.post(f"{kv}/_devstack/issuers/{issuer}", json={"refuse": "Organization validation failed."})
    policy = CertificatePolicy(issuer_name=issuer, subject=f"CN={name}")
    op = client.begin_create_certificate(name, policy, _polling_interval=0).result()
    assert isinstance(op, CertificateOperation)
    assert (op.status, op.status_details) == ("failed", "Organization validation failed.")
    assert op.error is not None
    assert (op.error.code, op.error.message) == (
        "CertificateRequestRefused",
        "Organization validation failed.",
    )
    assert client.get_certificate(name).id == before.id
    assert [v.id for v in client.list_properties_of_certificate_versions(name)] == [before.id]
    # Only the next issuance is refused.
    assert create(client, name, policy).cer is not None


def test_retry_after_follows_the_control(
    client: CertificateClient, officer_http: requests.Session, kv: str
) -> None:
    issuer = _issuer(client, officer_http, kv, "Test", retryAfter=2)
    name = "retry-" + secrets.token_hex(4)
    body = {"policy": {"issuer": {"name": issuer}}}
    r = officer_http.post(f"{kv}/certificates/{name}/create", params=API, json=body)
    assert r.headers["Retry-After"] == "2"
    assert officer_http.get(f"{kv}/certificates/{name}/pending", params=API).headers["Retry-After"] == "2"
    got = officer_http.get(f"{kv}/_devstack/issuers/{issuer}").json()
    assert got == {"name": issuer, "delaySeconds": 3.0, "refuse": None, "retryAfter": 2}


def test_control_bad_input_is_problem_json(http: requests.Session, kv: str) -> None:
    for body in (
        {"delaySeconds": -1},
        {"delaySeconds": "1"},
        {"retryAfter": 3601},
        {"retryAfter": 1.5},
        {"refuse": 5},
        [1],
    ):
        r = http.post(f"{kv}/_devstack/issuers/some-issuer", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
