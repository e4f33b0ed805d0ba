"""The error boundary: every foreign error becomes ours, with step, status and a hint."""

from __future__ import annotations

import inspect

import msal.exceptions
import pytest
import requests
from azure.core import exceptions as azure_exceptions

from shared import errors
from shared.identity._errors import (
    Context,
    map_azure_error,
    map_exception,
    map_identity_response,
    map_msal_result,
)

CTX = Context(
    connection="graph", client_id="app-1", tenant_id="tenant-1", thumbprint="ABC123", vault_object="cert"
)


def _public_exceptions(module: object) -> list[type[BaseException]]:
    return [
        obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, Exception)
        and not issubclass(obj, Warning)  # warnings are not raised as errors: nothing to map
        and not name.startswith("_")
        and obj.__module__ == getattr(module, "__name__", "")
    ]


def _instance(cls: type[BaseException]) -> BaseException:
    for args in ((), ("boom",), ("boom", None)):
        try:
            return cls(*args)
        except Exception:
            continue
    return cls.__new__(cls)


@pytest.mark.parametrize(
    "cls",
    _public_exceptions(requests.exceptions)
    + _public_exceptions(azure_exceptions)
    + _public_exceptions(msal.exceptions),
    ids=lambda c: f"{c.__module__}.{c.__name__}",
)
def test_no_foreign_error_escapes_unmapped(cls: type[BaseException]) -> None:
    """Every public exception of requests, azure-core and msal maps to an AutomationError subclass."""
    mapped = map_exception(_instance(cls), "entra", CTX)
    assert isinstance(mapped, errors.AutomationError)
    assert type(mapped) is not errors.AutomationError
    assert mapped.step


def test_aadsts700027_names_the_thumbprint_and_app() -> None:
    """An unregistered certificate is a misconfiguration whose hint names the thumbprint and app."""
    err = map_msal_result(
        {
            "error": "invalid_client",
            "error_description": "AADSTS700027: The certificate with identifier used to sign the client "
            "assertion is not registered on application. Trace ID: 1 Correlation ID: 2 Timestamp: 3",
            "error_codes": [700027],
        },
        status=401,
        ctx=CTX,
    )
    assert isinstance(err, errors.AuthenticationFailedError)
    assert (err.code, err.status, err.step) == ("AADSTS700027", 401, "entra")
    assert "thumbprint ABC123 is not registered on app app-1" in (err.hint or "")
    assert "Trace ID" not in str(err)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (7000215, "client secret VALUE"),
        (700016, "is not in tenant tenant-1"),
        (700213, "Add a federated credential on app app-1 with issuer"),
        (70011, "/.default"),
        (1002012, "/.default"),
        (500011, "has no service principal"),
    ],
)
def test_known_aadsts_codes_get_hints(code: int, hint: str) -> None:
    """Common Entra refusals say what to fix."""
    err = map_msal_result({"error": "invalid_request", "error_codes": [code]}, status=400, ctx=CTX)
    assert isinstance(err, errors.AuthenticationFailedError)
    assert hint in (err.hint or "")


def test_entra_throttling_is_an_outage() -> None:
    """A 429 or 503 from Entra is an outage with the real status."""
    err = map_msal_result({"error": "temporarily_unavailable"}, status=503, ctx=CTX)
    assert isinstance(err, errors.IdentityUnavailableError)
    assert err.outage
    assert err.status == 503


def test_identity_endpoint_400_unassigned_identity_is_a_misconfiguration() -> None:
    """App Service's 400 for an unassigned identity says to assign it and use the client id."""
    message = "No User Assigned or Delegated Managed Identity found for specified ClientId."
    body = '{"statusCode":400,"message":"' + message + '"}'
    err = map_identity_response(400, body, CTX)
    assert isinstance(err, errors.AuthenticationFailedError)
    assert not err.outage
    assert "CLIENT id, not its object id" in (err.hint or "")


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_identity_endpoint_5xx_and_429_are_outages(status: int) -> None:
    """Outages keep their real status."""
    err = map_identity_response(status, '{"message":"An unexpected error occured"}', CTX)
    assert isinstance(err, errors.IdentityUnavailableError)
    assert err.status == status


def _http_error(status: int, code: str) -> azure_exceptions.HttpResponseError:
    exc = azure_exceptions.HttpResponseError(message=f"{code}: text")
    exc.status_code = status
    exc.error = azure_exceptions.ODataV4Format({"code": code, "message": "text"})
    return exc


def test_key_vault_403_asks_for_a_role_and_404_names_the_object() -> None:
    """Forbidden is a misconfiguration naming the roles; not found is a KeyVaultError naming the object."""
    forbidden = map_azure_error(_http_error(403, "Forbidden"), ctx=CTX)
    assert isinstance(forbidden, errors.AuthenticationFailedError)
    assert "Key Vault Secrets User" in (forbidden.hint or "")
    missing = map_azure_error(_http_error(404, "SecretNotFound"), ctx=CTX)
    assert type(missing) is errors.KeyVaultError
    assert (missing.status, missing.code) == (404, "SecretNotFound")
    assert "'cert'" in str(missing)


def test_key_vault_throttling_is_an_outage() -> None:
    """A 429 from Key Vault is a KeyVaultError flagged as an outage."""
    err = map_azure_error(_http_error(429, "Throttled"), ctx=CTX)
    assert err.outage
    assert err.status == 429


def test_transport_errors_are_outages_but_tls_failures_are_not() -> None:
    """Refused connections and timeouts are outages; a TLS failure points at REQUESTS_CA_BUNDLE."""
    assert map_exception(requests.ConnectionError("refused"), "identity-endpoint").outage
    assert map_exception(requests.Timeout("slow"), "entra").outage
    tls = map_exception(requests.exceptions.SSLError("bad cert"), "entra")
    assert isinstance(tls, errors.ConfigurationError)
    assert "REQUESTS_CA_BUNDLE" in (tls.hint or "")


def test_error_tree_matches_the_docstring() -> None:
    """Every class drawn in shared/errors.py's docstring exists with the drawn parent."""
    assert issubclass(errors.IdentityUnavailableError, errors.CredentialError)
    assert issubclass(errors.AuthenticationFailedError, errors.CredentialError)
    assert issubclass(errors.CertificateError, errors.KeyVaultError)
    for name in ("ConfigurationError", "CredentialError", "KeyVaultError", "UpstreamError"):
        assert issubclass(getattr(errors, name), errors.AutomationError)
        assert name in (errors.__doc__ or "")
    assert errors.KeyVaultError("x").to_dict()["step"] == "key-vault"
