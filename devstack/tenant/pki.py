"""A certificate authority of the devstack's own, and the certificates it issues.

Everything is generated at start and kept in memory (only the CA's public certificate is
written, to `.devstack/ca.pem`); no private key is ever committed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devstack.tenant import clock


def new_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def utcnow() -> dt.datetime:
    """The devstack's "now" for credential dates: real time unless a test moved `clock`."""
    return clock.now()


def b64url(data: bytes, *, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode("ascii")
    return text if pad else text.rstrip("=")


@dataclass
class IssuedCertificate:
    """A leaf certificate with its private key and the chain above it."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def sha1_thumbprint(self) -> str:
        """Upper-case hex SHA-1 of the DER, as the portal and PowerShell show it."""
        return hashlib.sha1(self.der, usedforsecurity=False).hexdigest().upper()

    @property
    def sha256_thumbprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest().upper()

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def pem_bundle(self) -> bytes:
        """Key, leaf, then chain: what Key Vault stores for `application/x-pem-file`."""
        parts = [self.key_pem(), self.cert_pem()]
        parts += [c.public_bytes(serialization.Encoding.PEM) for c in self.chain]
        return b"".join(parts)

    def pfx(self) -> bytes:
        """Unencrypted PKCS#12 with the chain: what Key Vault stores for `application/x-pkcs12`."""
        return pkcs12.serialize_key_and_certificates(
            None, self.key, self.certificate, self.chain or None, serialization.NoEncryption()
        )


def x5t(cert: x509.Certificate) -> str:
    """JWT `x5t`: base64url SHA-1 of the DER (no padding; msal pads, verifiers accept both)."""
    return b64url(hashlib.sha1(cert.public_bytes(serialization.Encoding.DER), usedforsecurity=False).digest())


def x5t_s256(cert: x509.Certificate) -> str:
    return b64url(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


class CertificateAuthority:
    """A root CA generated at start; issues TLS server and client-credential certificates."""

    def __init__(
        self,
        common_name: str = "devstack offline tenant CA",
        *,
        parent: CertificateAuthority | None = None,
        organization: str | None = None,
    ) -> None:
        """A root CA; with `parent`, an intermediate (issuing) CA signed by it, one level deep."""
        self.key = new_rsa_key()
        now = utcnow()
        subject = _name(common_name)
        if organization:
            subject = x509.Name([*subject, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(parent.certificate.subject if parent else subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0 if parent else None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
        )
        if parent:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False
            )
        self.certificate: x509.Certificate = builder.sign(parent.key if parent else self.key, hashes.SHA256())

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        server_names: list[str] | None = None,
        subject: x509.Name | None = None,
    ) -> IssuedCertificate:
        """Issue a leaf: a TLS server certificate when `server_names` is given, else a client certificate.

        `subject` (a whole distinguished name) replaces `CN=common_name` when given."""
        key = key or new_rsa_key()
        now = utcnow()
        not_before = not_before or now - dt.timedelta(minutes=5)
        not_after = not_after or now + dt.timedelta(days=365)
        builder = _leaf(
            subject or _name(common_name), self.certificate.subject, key, not_before, not_after
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
        )
        if server_names:
            sans: list[x509.GeneralName] = []
            for name in server_names:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(name)))
                except ValueError:
                    sans.append(x509.DNSName(name))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return IssuedCertificate(certificate=cert, key=key, chain=[self.certificate])


def self_signed(
    subject: x509.Name, key: rsa.RSAPrivateKey, *, not_before: dt.datetime, not_after: dt.datetime
) -> IssuedCertificate:
    """A leaf issued by itself (issuer == subject, signed with its own key): Key Vault's `Self` issuer.

    Extensions as Key Vault's default policy: not a CA, digitalSignature + keyEncipherment,
    client authentication (the policy's `ekus`)."""
    cert = (
        _leaf(subject, subject, key, not_before, not_after)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return IssuedCertificate(certificate=cert, key=key)


def _leaf(
    subject: x509.Name,
    issuer: x509.Name,
    key: rsa.RSAPrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    """An end-entity certificate's common part: names, key, validity, not a CA."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )


def signing_request(subject: x509.Name, key: rsa.RSAPrivateKey) -> bytes:
    """A PKCS#10 request (DER) for `subject`, signed by `key`: the `csr` of a pending certificate."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)
