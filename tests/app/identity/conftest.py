"""Certificates for the pure parsing tests: one throw-away CA per module and a leaf it issued."""

from __future__ import annotations

import pytest

from devstack.tenant.pki import CertificateAuthority, IssuedCertificate


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture(scope="module")
def issued(ca: CertificateAuthority) -> IssuedCertificate:
    return ca.issue("entra-automation")
