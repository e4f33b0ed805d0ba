"""Key Vault's data-plane paths -> (operation name counted by `/_devstack/requests`, handler, methods).

Latest and versioned reads share one operation name (`GetSecret`, `GetKey`, `GetCertificate`, `Sign`,
`Decrypt`, `UnwrapKey`).

Rules that end in `/` also match without it (the map has `strict_slashes=False`): the SDKs
ask for the latest version as `/secrets/{name}/`. The issuer rules come before the
`/certificates/<name>/...` ones, so `issuers` is never read as a certificate name.
"""

from __future__ import annotations

from devstack.core.emulator import Handler
from devstack.keyvault.issuer_responses import IssuerResponses


def url_paths(r: IssuerResponses) -> list[tuple[str, str, Handler, list[str]]]:
    return [
        ("/secrets", "ListSecrets", r.list_secrets, ["GET"]),
        ("/secrets/<name>/versions", "ListSecretVersions", r.list_secret_versions, ["GET"]),
        ("/secrets/<name>/", "GetSecret", r.get_secret, ["GET"]),
        ("/secrets/<name>/<version>", "GetSecret", r.get_secret, ["GET"]),
        ("/secrets/<name>", "SetSecret", r.set_secret, ["PUT"]),
        ("/keys/<name>/", "GetKey", r.get_key, ["GET"]),
        ("/keys/<name>/<version>", "GetKey", r.get_key, ["GET"]),
        ("/keys/<name>/sign", "Sign", r.sign, ["POST"]),
        ("/keys/<name>//sign", "SignEmptyVersion", r.sign_empty_version, ["POST"]),
        ("/keys/<name>/<version>/sign", "Sign", r.sign, ["POST"]),
        ("/keys/<name>/decrypt", "Decrypt", r.decrypt, ["POST"]),
        ("/keys/<name>/<version>/decrypt", "Decrypt", r.decrypt, ["POST"]),
        ("/keys/<name>/unwrapkey", "UnwrapKey", r.unwrap_key, ["POST"]),
        ("/keys/<name>/<version>/unwrapkey", "UnwrapKey", r.unwrap_key, ["POST"]),
        ("/certificates", "ListCertificates", r.list_certificates, ["GET"]),
        ("/certificates/issuers", "GetCertificateIssuers", r.list_issuers, ["GET"]),
        ("/certificates/issuers/<name>", "GetCertificateIssuer", r.get_issuer, ["GET"]),
        ("/certificates/issuers/<name>", "SetCertificateIssuer", r.set_issuer, ["PUT"]),
        ("/certificates/issuers/<name>", "UpdateCertificateIssuer", r.update_issuer, ["PATCH"]),
        ("/certificates/issuers/<name>", "DeleteCertificateIssuer", r.delete_issuer, ["DELETE"]),
        ("/certificates/<name>/versions", "ListCertificateVersions", r.list_certificate_versions, ["GET"]),
        ("/certificates/<name>/policy", "GetCertificatePolicy", r.get_policy, ["GET"]),
        ("/certificates/<name>/pending", "GetCertificateOperation", r.get_pending, ["GET"]),
        ("/certificates/<name>/pending", "UpdateCertificateOperation", r.update_pending, ["PATCH"]),
        ("/certificates/<name>/pending", "DeleteCertificateOperation", r.delete_pending, ["DELETE"]),
        ("/certificates/<name>/pending/merge", "MergeCertificate", r.merge_certificate, ["POST"]),
        ("/certificates/<name>/import", "ImportCertificate", r.import_certificate, ["POST"]),
        ("/certificates/<name>/create", "CreateCertificate", r.create_certificate, ["POST"]),
        ("/certificates/<name>/", "GetCertificate", r.get_certificate, ["GET"]),
        ("/certificates/<name>/<version>", "GetCertificate", r.get_certificate, ["GET"]),
    ]
