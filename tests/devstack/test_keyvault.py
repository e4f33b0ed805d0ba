"""The Key Vault emulator through the real azure-keyvault-* SDKs over TLS, and its exact errors."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.certificates import (
    CertificateClient,
    CertificateContentType,
    CertificatePolicy,
    KeyType,
    KeyVaultCertificate,
)
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs12

from devstack.keyvault import rbac
from devstack.keyvault.exceptions import BadParameter
from devstack.keyvault.models import KeyVaultBackend, parse_certificate_material
from devstack.offline_tenant import OfflineTenant
from devstack.tenant.pki import b64url
from devstack.tenant.tokens import Principal

API = "api-version=7.6"
VAULT = "https://vault.azure.net"
CERT = "entra-automation-cert"  # exportable, PFX (seed.json)
SIGNING = "entra-automation-signing"  # non-exportable
OFFICER = "id-other-workload"  # no vault role in the seed; tests grant and revoke through control


class IssuerCredential:
    """A TokenCredential that asks the tenant's real issuer for a token (no identity endpoint)."""

    def __init__(self, stack: OfflineTenant, principal: Principal, audience: str = VAULT) -> None:
        self.stack, self.principal, self.audience = stack, principal, audience

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        token, expires_on = self.stack.tenant.issuer.issue(self.principal, self.audience)
        return AccessToken(token, expires_on)


def _principal(stack: OfflineTenant, name: str) -> Principal:
    mi = next(i for i in stack.tenant.identities if i.name == name)
    return mi.principal()


def _kv(stack: OfflineTenant) -> str:
    return stack.servers["keyvault"].url


def _opts(ca: str) -> dict[str, Any]:
    return {"verify_challenge_resource": False, "connection_verify": ca}


@pytest.fixture
def app_environment(devstack: OfflineTenant, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What Azure Functions gives the app: IDENTITY_ENDPOINT and IDENTITY_HEADER."""
    state = devstack.state()
    monkeypatch.setenv("IDENTITY_ENDPOINT", state["identityEndpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", state["identityHeader"])
    return state


@pytest.fixture
def user_assigned(app_environment: dict[str, Any]) -> ManagedIdentityCredential:
    """id-entra-automation (Secrets User, Certificate User, Crypto User) through the identity endpoint."""
    return ManagedIdentityCredential(client_id=app_environment["managedIdentityClientId"])


@pytest.fixture
def officer(devstack: OfflineTenant, http: requests.Session) -> Iterator[IssuerCredential]:
    """id-other-workload, granted Secrets and Certificates Officer for one test."""
    principal = _principal(devstack, OFFICER)
    roles = ["Key Vault Secrets Officer", "Key Vault Certificates Officer"]
    for role in roles:
        url = f"{_kv(devstack)}/_devstack/roles/{principal.object_id}/{quote(role)}"
        assert http.put(url).status_code == 204
    yield IssuerCredential(devstack, principal)
    for role in roles:
        http.delete(f"{_kv(devstack)}/_devstack/roles/{principal.object_id}/{quote(role)}")


def _bearer(stack: OfflineTenant, name: str, audience: str = VAULT, **kw: Any) -> dict[str, str]:
    token, _ = stack.tenant.issuer.issue(_principal(stack, name), audience, **kw)
    return {"Authorization": f"Bearer {token}"}


# -- authentication ------------------------------------------------------------------------------
def test_first_request_gets_the_bearer_challenge(devstack: OfflineTenant, http: requests.Session) -> None:
    """A request without a token gets 401 AKV10000 and the challenge naming the authority and resource."""
    r = http.get(f"{_kv(devstack)}/secrets/{CERT}/?{API}")
    assert r.status_code == 401
    authority = f"{devstack.tenant.authority_host}/{devstack.tenant.tenant_id}"
    assert r.headers["WWW-Authenticate"] == f'Bearer authorization="{authority}", resource="{VAULT}"'
    assert r.json() == {
        "error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}
    }


def test_challenge_post_with_empty_body_gets_401(devstack: OfflineTenant, http: requests.Session) -> None:
    """The challenge POST (empty body, as the SDK sends it) is answered 401, not a JSON error."""
    r = http.post(f"{_kv(devstack)}/keys/{CERT}/abc/sign?{API}", data=b"")
    assert r.status_code == 401
    assert "WWW-Authenticate" in r.headers


def test_graph_token_is_rejected_with_akv10022(devstack: OfflineTenant, http: requests.Session) -> None:
    """A token for Microsoft Graph gets 401 AKV10022 naming the audience found, with the challenge."""
    headers = _bearer(devstack, "id-entra-automation", "https://graph.microsoft.com")
    r = http.get(f"{_kv(devstack)}/secrets/{CERT}/?{API}", headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer authorization=")
    assert r.json()["error"]["message"] == (
        "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://graph.microsoft.com."
    )


def test_graph_token_fails_the_sdk(devstack: OfflineTenant, ca_bundle: str) -> None:
    """SecretClient with a credential that returns Graph tokens raises ClientAuthenticationError."""
    cred = IssuerCredential(
        devstack, _principal(devstack, "id-entra-automation"), "https://graph.microsoft.com"
    )
    client = SecretClient(_kv(devstack), cred, **_opts(ca_bundle))
    with pytest.raises(ClientAuthenticationError, match="AKV10022"):
        client.get_secret(CERT)


def test_expired_token_is_rejected(devstack: OfflineTenant, http: requests.Session) -> None:
    """An expired token gets 401 with Key Vault's TokenExpired text."""
    headers = _bearer(devstack, "id-entra-automation", now=time.time() - 7200)
    r = http.get(f"{_kv(devstack)}/secrets/{CERT}/?{API}", headers=headers)
    assert r.status_code == 401
    assert "WWW-Authenticate" in r.headers
    assert r.json()["error"]["message"] == "[TokenExpired] Error validating token: 'S2S12086'."


def test_missing_api_version_is_400(devstack: OfflineTenant, http: requests.Session) -> None:
    """A request with a valid token but no api-version gets 400 BadParameter."""
    r = http.get(f"{_kv(devstack)}/secrets/{CERT}/", headers=_bearer(devstack, "id-entra-automation"))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BadParameter"


# -- authorization -------------------------------------------------------------------------------
def test_secrets_user_cannot_sign_or_read_certificates(
    devstack: OfflineTenant, ca_bundle: str, app_environment: dict[str, Any]
) -> None:
    """The system-assigned identity (Secrets User only) gets 403 ForbiddenByRbac for sign and certificates."""
    principal = devstack.tenant.identity(system=True)
    assert principal is not None
    cred = ManagedIdentityCredential()  # system-assigned
    kid = devstack.tenant.vault.latest_key(CERT)
    assert kid is not None
    crypto = CryptographyClient(f"{_kv(devstack)}/keys/{CERT}/{kid.version}", cred, **_opts(ca_bundle))
    with pytest.raises(HttpResponseError) as signed:
        crypto.sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest())
    assert signed.value.status_code == 403
    message = str(signed.value.message)
    assert "Caller is not authorized to perform action on resource.\r\n" in message
    assert f"Caller: appid={principal.client_id};oid={principal.object_id};iss=" in message
    assert "Action: 'Microsoft.KeyVault/vaults/keys/sign/action'\r\n" in message
    assert "Assignment: (not found)\r\n" in message
    certs = CertificateClient(_kv(devstack), cred, **_opts(ca_bundle))
    with pytest.raises(HttpResponseError) as got:
        certs.get_certificate(CERT)
    assert got.value.status_code == 403
    assert got.value.error is not None
    assert got.value.error.code == "Forbidden"
    assert "Action: 'Microsoft.KeyVault/vaults/certificates/read'" in str(got.value.message)
    # The secret itself is readable: that is the role it has.
    assert SecretClient(_kv(devstack), cred, **_opts(ca_bundle)).get_secret("webhook-github").value


def test_forbidden_body_carries_inner_error(devstack: OfflineTenant, http: requests.Session) -> None:
    """The 403 body is {"error": {"code": "Forbidden", "innererror": {"code": "ForbiddenByRbac"}}}."""
    r = http.get(f"{_kv(devstack)}/certificates/{CERT}/?{API}", headers=_bearer(devstack, OFFICER))
    assert r.status_code == 403
    error = r.json()["error"]
    assert (error["code"], error["innererror"]) == ("Forbidden", {"code": "ForbiddenByRbac"})
    assert f"/vaults/kv-entra-automation/certificates/{CERT}'" in error["message"]


def test_role_grant_and_revoke(devstack: OfflineTenant, http: requests.Session) -> None:
    """Granting Secrets User through the control endpoint opens getSecret; revoking closes it again."""
    oid = _principal(devstack, OFFICER).object_id
    role = f"{_kv(devstack)}/_devstack/roles/{oid}/{quote('Key Vault Secrets User')}"
    url = f"{_kv(devstack)}/secrets/webhook-github/?{API}"
    assert http.get(url, headers=_bearer(devstack, OFFICER)).status_code == 403
    assert http.put(role).status_code == 204
    assert http.get(url, headers=_bearer(devstack, OFFICER)).status_code == 200
    assert http.delete(role).status_code == 204
    assert http.get(url, headers=_bearer(devstack, OFFICER)).status_code == 403
    assert http.put(f"{_kv(devstack)}/_devstack/roles/{oid}/Owner").status_code == 400


# -- secrets -------------------------------------------------------------------------------------
def test_certificate_secret_is_the_pfx_of_the_certificate(
    devstack: OfflineTenant, ca_bundle: str, user_assigned: ManagedIdentityCredential
) -> None:
    """The certificate's backing secret is a PFX with the key; its thumbprint is the certificate's x5t."""
    secret = SecretClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_secret(CERT)
    cert = CertificateClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_certificate(CERT)
    assert secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.managed is True
    assert secret.properties.key_id == cert.key_id
    assert secret.id == cert.secret_id
    assert secret.value is not None
    key, leaf, chain = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert leaf is not None
    assert chain
    der = leaf.public_bytes(serialization.Encoding.DER)
    assert cert.properties is not None
    assert bytes(cert.properties.x509_thumbprint or b"") == hashlib.sha1(der).digest()
    assert bytes(cert.cer or b"") == der


def test_non_exportable_certificate_secret_has_no_private_key(
    devstack: OfflineTenant, ca_bundle: str, user_assigned: ManagedIdentityCredential
) -> None:
    """A non-exportable certificate's secret exists but holds only the certificate chain (Key Vault docs)."""
    secret = SecretClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_secret(SIGNING)
    assert secret.value is not None
    key, _, certs = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    stored = devstack.tenant.vault.latest_certificate(SIGNING)
    assert stored is not None
    assert key is None
    assert stored.certificate in certs


def test_set_list_and_page_versions(
    devstack: OfflineTenant, ca_bundle: str, officer: IssuerCredential
) -> None:
    """set_secret adds versions; versions list pages with nextLink; the latest is what get_secret returns."""
    client = SecretClient(_kv(devstack), officer, **_opts(ca_bundle))
    name = f"kvtest-{uuid.uuid4().hex[:8]}"
    made = [client.set_secret(name, f"v{i}", content_type="text/plain", tags={"i": str(i)}) for i in range(3)]
    assert made[0].properties.version != made[2].properties.version
    assert client.get_secret(name).value == "v2"
    assert client.get_secret(name, made[0].properties.version).value == "v0"
    pages = list(client.list_properties_of_secret_versions(name, max_page_size=2).by_page())
    versions = [p.version for page in pages for p in page]
    assert len(pages) == 2
    assert set(versions) == {m.properties.version for m in made}
    listed = {p.name: p for p in client.list_properties_of_secrets()}
    assert listed[name].content_type == "text/plain"
    assert listed[CERT].managed is True
    created = made[0].properties.created_on
    assert created is not None
    assert abs(created.timestamp() - time.time()) < 60


def test_missing_objects_are_404_with_service_codes(
    devstack: OfflineTenant, ca_bundle: str, user_assigned: ManagedIdentityCredential
) -> None:
    """Unknown secret, certificate and key raise ResourceNotFoundError with Key Vault's codes and texts."""
    with pytest.raises(ResourceNotFoundError) as secret:
        SecretClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_secret("no-such-secret")
    assert secret.value.error is not None
    assert secret.value.error.code == "SecretNotFound"
    assert str(secret.value.error.message).startswith(
        "A secret with (name/id) no-such-secret was not found in this key vault."
    )
    with pytest.raises(ResourceNotFoundError) as cert:
        CertificateClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_certificate("no-such-cert")
    assert cert.value.error is not None
    assert cert.value.error.code == "CertificateNotFound"
    assert cert.value.error.message == "Certificate not found: no-such-cert"
    with pytest.raises(ResourceNotFoundError) as key:
        KeyClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_key("no-such-key")
    assert key.value.error is not None
    assert key.value.error.code == "KeyNotFound"
    assert str(key.value.error.message).startswith("A key with (name/id) no-such-key was not found")


def test_control_put_secret_is_read_by_the_sdk(
    devstack: OfflineTenant, http: requests.Session, ca_bundle: str, user_assigned: ManagedIdentityCredential
) -> None:
    """PUT /_devstack/secrets/{name} adds a version without a token; SecretClient reads it as the latest."""
    name = f"seeded-{uuid.uuid4().hex[:8]}"
    for value in ("first", "second"):
        r = http.put(
            f"{_kv(devstack)}/_devstack/secrets/{name}", json={"value": value, "contentType": "text/plain"}
        )
        assert r.status_code == 200
    secret = SecretClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_secret(name)
    assert (secret.value, secret.properties.content_type) == ("second", "text/plain")


def test_injected_429_is_throttled(devstack: OfflineTenant, http: requests.Session) -> None:
    """An injected 429 answers Key Vault's Throttled body with Retry-After."""
    spec = {"match": "^/secrets/throttle-probe", "status": 429, "times": 1, "retryAfter": 3}
    assert http.post(f"{_kv(devstack)}/_devstack/faults", json=spec).status_code == 201
    r = http.get(f"{_kv(devstack)}/secrets/throttle-probe/?{API}")
    assert (r.status_code, r.headers["Retry-After"]) == (429, "3")
    assert r.json()["error"] == {
        "code": "Throttled",
        "message": "Request was not processed because too many requests were received. "
        "Reason: VaultRequestTypeLimitReached",
    }


# -- certificates --------------------------------------------------------------------------------
def test_import_pfx_and_list_versions(
    devstack: OfflineTenant, ca_bundle: str, officer: IssuerCredential
) -> None:
    """import_certificate takes a PFX; each import is a version, and the versions are listed."""
    client = CertificateClient(_kv(devstack), officer, **_opts(ca_bundle))
    name = f"imported-{uuid.uuid4().hex[:8]}"
    issued = [devstack.tenant.ca.issue(name) for _ in range(2)]
    for one in issued:
        policy = CertificatePolicy(content_type=CertificateContentType.pkcs12, exportable=True)
        got = client.import_certificate(name, one.pfx(), policy=policy)
        assert bytes(got.cer or b"") == one.der
    versions = list(client.list_properties_of_certificate_versions(name))
    assert len(versions) == 2
    assert {v.x509_thumbprint for v in versions} == {hashlib.sha1(i.der).digest() for i in issued}
    latest = client.get_certificate(name)
    assert bytes(latest.cer or b"") == issued[1].der
    assert latest.policy is not None
    assert latest.policy.exportable is True
    assert {c.name for c in client.list_properties_of_certificates()} >= {name, CERT}


def test_import_pem_keeps_pem_content_type(
    devstack: OfflineTenant, ca_bundle: str, officer: IssuerCredential
) -> None:
    """A PEM import is served back as an application/x-pem-file secret holding key and certificate."""
    name = f"pem-{uuid.uuid4().hex[:8]}"
    issued = devstack.tenant.ca.issue(name)
    policy = CertificatePolicy(content_type=CertificateContentType.pem, exportable=True)
    CertificateClient(_kv(devstack), officer, **_opts(ca_bundle)).import_certificate(
        name, issued.pem_bundle(), policy=policy
    )
    secret = SecretClient(_kv(devstack), officer, **_opts(ca_bundle)).get_secret(name)
    assert secret.properties.content_type == "application/x-pem-file"
    assert secret.value is not None
    assert "PRIVATE KEY" in secret.value
    assert (
        x509.load_pem_x509_certificate(secret.value.encode()).fingerprint(hashes.SHA1())
        == hashlib.sha1(issued.der).digest()
    )


def test_create_certificate_completes(
    devstack: OfflineTenant, ca_bundle: str, officer: IssuerCredential
) -> None:
    """begin_create_certificate completes at once and the result carries the policy's subject."""
    client = CertificateClient(_kv(devstack), officer, **_opts(ca_bundle))
    name = f"created-{uuid.uuid4().hex[:8]}"
    # The SDK drops key_props when exportable=False is the only key property (the service then
    # defaults to exportable); naming the key type keeps it.
    policy = CertificatePolicy(
        issuer_name="Self", subject=f"CN={name}", validity_in_months=6, exportable=False, key_type=KeyType.rsa
    )
    cert = client.begin_create_certificate(name, policy).result()
    assert isinstance(cert, KeyVaultCertificate)
    assert cert.name == name
    assert cert.cer is not None
    assert x509.load_der_x509_certificate(bytes(cert.cer)).subject.rfc4514_string() == f"CN={name}"
    got_policy = client.get_certificate_policy(name)
    assert (got_policy.exportable, got_policy.validity_in_months) == (False, 6)


def test_control_certificate_rotation(
    devstack: OfflineTenant, http: requests.Session, ca_bundle: str, user_assigned: ManagedIdentityCredential
) -> None:
    """POST /_devstack/certificates/{name} adds an (expired) version and registers it on the app."""
    name = f"rotated-{uuid.uuid4().hex[:8]}"
    app = devstack.tenant.app_by_name("legacy-reporting")
    assert app is not None
    spec = {"subject": f"CN={name}", "expired": True, "registerOnApp": "legacy-reporting"}
    r = http.post(f"{_kv(devstack)}/_devstack/certificates/{name}", json=spec)
    assert r.status_code == 201
    body = r.json()
    assert body["registeredOn"] == app.app_id
    cert = CertificateClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_certificate(name)
    props = cert.properties
    assert props is not None
    assert bytes(props.x509_thumbprint or b"").hex().upper() == body["sha1Thumbprint"]
    assert props.expires_on is not None
    assert props.expires_on.timestamp() < time.time()
    assert any(
        hashlib.sha1(k.certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
        == body["sha1Thumbprint"]
        for k in app.key_credentials
    )


# -- keys ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("algorithm", "pad"),
    [
        (SignatureAlgorithm.rs256, padding.PKCS1v15()),
        (SignatureAlgorithm.ps256, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)),
    ],
)
def test_sign_digest_verifies_with_certificate(
    devstack: OfflineTenant,
    ca_bundle: str,
    user_assigned: ManagedIdentityCredential,
    algorithm: SignatureAlgorithm,
    pad: padding.AsymmetricPadding,
) -> None:
    """CryptographyClient.sign (versioned key id) signs; the certificate's public key verifies it."""
    cert = CertificateClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_certificate(SIGNING)
    assert cert.key_id is not None
    assert cert.cer is not None
    crypto = CryptographyClient(cert.key_id, user_assigned, **_opts(ca_bundle))
    digest = hashlib.sha256(b"header.claims").digest()
    result = crypto.sign(algorithm, digest)
    assert result.key_id == cert.key_id
    public = x509.load_der_x509_certificate(bytes(cert.cer)).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(result.signature, digest, pad, utils.Prehashed(hashes.SHA256()))


def test_get_key_is_a_public_jwk(
    devstack: OfflineTenant, ca_bundle: str, user_assigned: ManagedIdentityCredential
) -> None:
    """get_key returns the RSA public JWK of the certificate's key, with the versioned kid."""
    key = KeyClient(_kv(devstack), user_assigned, **_opts(ca_bundle)).get_key(SIGNING)
    stored = devstack.tenant.vault.latest_key(SIGNING)
    assert stored is not None
    assert key.id == f"{_kv(devstack)}/keys/{SIGNING}/{stored.version}"
    jwk: Any = key.key  # JsonWebKey sets its fields dynamically
    assert jwk.kty == "RSA"
    assert jwk.d is None
    assert int.from_bytes(jwk.n or b"", "big") == stored.key.public_key().public_numbers().n


def test_sign_with_empty_version_is_key_not_found(devstack: OfflineTenant, http: requests.Session) -> None:
    """A POST to /keys/{name}//sign (a versionless id the SDK could not resolve) answers 404 KeyNotFound."""
    body = {"alg": "RS256", "value": b64url(hashlib.sha256(b"x").digest())}
    r = http.post(
        f"{_kv(devstack)}/keys/{SIGNING}//sign?{API}",
        json=body,
        headers=_bearer(devstack, "id-entra-automation"),
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "KeyNotFound"


def test_managed_identity_token_is_cached(
    devstack: OfflineTenant, ca_bundle: str, user_assigned: ManagedIdentityCredential
) -> None:
    """Two reads with one ManagedIdentityCredential fetch one token: the emulator's tokens are long-lived."""
    identity = devstack.emulators["identity"]
    before = sum(identity.counts().values())
    client = SecretClient(_kv(devstack), user_assigned, **_opts(ca_bundle))
    assert client.get_secret(CERT).properties.content_type == "application/x-pkcs12"
    assert client.get_secret("webhook-github").value
    assert sum(identity.counts().values()) - before == 1


# -- model and role table, without HTTP ----------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "action", "managed", "allowed"),
    [
        ("Key Vault Reader", "Microsoft.KeyVault/vaults/secrets/getSecret/action", False, False),
        ("Key Vault Reader", "Microsoft.KeyVault/vaults/certificates/read", False, True),
        ("Key Vault Certificates Officer", "Microsoft.KeyVault/vaults/secrets/getSecret/action", True, True),
        (
            "Key Vault Certificates Officer",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            False,
            False,
        ),
        ("Key Vault Crypto User", "Microsoft.KeyVault/vaults/keys/sign/action", False, True),
        ("Key Vault Crypto User", "Microsoft.KeyVault/vaults/keys/create/action", False, False),
        ("Key Vault Administrator", "Microsoft.KeyVault/vaults/keys/create/action", False, True),
    ],
)
def test_role_table(role: str, action: str, managed: bool, allowed: bool) -> None:
    """Built-in roles grant their data actions; Certificates Officer reads only certificate-backed secrets."""
    assert rbac.allows({role}, action, managed=managed) is allowed


def test_model_rejects_wrong_digest_length(devstack: OfflineTenant) -> None:
    """Signing a digest whose length does not fit the algorithm raises BadParameter, not a crypto error."""
    backend = KeyVaultBackend(devstack.tenant)
    with pytest.raises(BadParameter, match="digest length"):
        backend.sign(SIGNING, None, "RS256", b"short")
    with pytest.raises(BadParameter, match="Invalid algorithm"):
        backend.sign(SIGNING, None, "ES256", hashlib.sha256(b"x").digest())


def test_model_parses_pem_and_pfx(devstack: OfflineTenant) -> None:
    """Imported material is accepted as PEM text, base64 PEM or base64 PFX, and garbage is BadParameter."""
    issued = devstack.tenant.ca.issue("parse-me")
    for value in (
        issued.pem_bundle().decode(),
        base64.b64encode(issued.pem_bundle()).decode(),
        base64.b64encode(issued.pfx()).decode(),
    ):
        parsed = parse_certificate_material(value, None)
        assert parsed.certificate == issued.certificate
    with pytest.raises(BadParameter):
        parse_certificate_material(base64.b64encode(b"not a certificate").decode(), None)
