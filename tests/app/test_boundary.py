"""shared/boundary.py: every foreign error becomes ours, with step, status and a hint; others propagate."""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterable

import msal.exceptions
import pytest
import requests
from azure.core import exceptions as azure_exceptions

from shared import boundary, errors
from shared.boundary import Context, identity_response_error, map_exception, mapped, msal_result_error

CTX = Context(
    connection="graph", client_id="app-1", tenant_id="tenant-1", thumbprint="ABC123", vault_object="cert"
)
FOREIGN_MODULES = (requests.exceptions, azure_exceptions, msal.exceptions)


def public_exceptions(module: types.ModuleType) -> list[type[BaseException]]:
    """The exception classes a module defines publicly (warnings excluded: never raised as errors)."""
    return [
        obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, Exception)
        and not issubclass(obj, Warning)
        and not name.startswith("_")
        and obj.__module__ == module.__name__
    ]


def undecided(modules: Iterable[types.ModuleType]) -> list[str]:
    """Public exceptions under a foreign root that the boundary's table does not name."""
    return sorted(
        f"{cls.__module__}.{cls.__name__}"
        for module in modules
        for cls in public_exceptions(module)
        if issubclass(cls, boundary.FOREIGN_ROOTS) and cls not in boundary.MAPPED
    )


def _instance(cls: type[BaseException]) -> Exception:
    for args in ((), ("boom",), ("boom", None)):
        try:
            made = cls(*args)
        except Exception:
            continue
        assert isinstance(made, Exception)
        return made
    made = cls.__new__(cls)
    assert isinstance(made, Exception)
    return made


def test_every_public_foreign_exception_is_decided() -> None:
    """Each public exception of requests, azure-core and msal under a mapped root is named in MAPPED."""
    assert undecided(FOREIGN_MODULES) == []


def test_a_new_foreign_exception_makes_the_walk_fail() -> None:
    """A library growing a public exception the table does not name is reported by the walk."""
    fake = types.ModuleType("azure.core.exceptions")

    class QuotaExceededError(azure_exceptions.HttpResponseError):
        pass

    QuotaExceededError.__module__ = fake.__name__
    fake.QuotaExceededError = QuotaExceededError  # type: ignore[attr-defined]
    assert undecided([fake]) == ["azure.core.exceptions.QuotaExceededError"]


@pytest.mark.parametrize(
    "cls",
    [c for m in FOREIGN_MODULES for c in public_exceptions(m) if issubclass(c, boundary.FOREIGN_ROOTS)],
    ids=lambda c: f"{c.__module__}.{c.__name__}",
)
def test_each_foreign_error_maps_to_a_leaf_of_our_tree(cls: type[BaseException]) -> None:
    """Every mapped foreign exception becomes an AutomationError subclass that names its step."""
    with pytest.raises(errors.AutomationError) as info, mapped("entra", CTX):
        raise _instance(cls)
    assert type(info.value) is not errors.AutomationError
    assert info.value.step == "entra"
    assert isinstance(info.value.__cause__, cls)


@pytest.mark.parametrize("exc", [KeyError("k"), TypeError("t"), ValueError("v"), OSError("o")])
def test_unknown_exceptions_propagate_unmapped(exc: Exception) -> None:
    """An exception that is not a foreign library's leaves the boundary as it is: a bug to see."""
    with pytest.raises(type(exc)) as info, mapped("entra", CTX):
        raise exc
    assert info.value is exc


def test_map_exception_refuses_what_it_does_not_know() -> None:
    """map_exception() called with a non-foreign exception raises TypeError naming it."""
    with pytest.raises(TypeError, match="KeyError is not a foreign exception the boundary maps"):
        map_exception(KeyError("x"), "entra", CTX)


def test_aadsts700027_names_the_thumbprint_and_app() -> None:
    """An unregistered certificate is a misconfiguration whose hint names the thumbprint and app."""
    err = msal_result_error(
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
    assert (err.code, err.aadsts, err.status, err.step) == ("AADSTS700027", 700027, 401, "entra")
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
    err = msal_result_error({"error": "invalid_request", "error_codes": [code]}, status=400, ctx=CTX)
    assert isinstance(err, errors.AuthenticationFailedError)
    assert hint in (err.hint or "")


def test_entra_throttling_is_an_outage() -> None:
    """A 429 or 503 from Entra is an outage with the real status."""
    err = msal_result_error({"error": "temporarily_unavailable"}, status=503, ctx=CTX)
    assert isinstance(err, errors.IdentityUnavailableError)
    assert err.outage
    assert err.status == 503


def test_identity_endpoint_400_unassigned_identity_is_a_misconfiguration() -> None:
    """App Service's 400 for an unassigned identity says to assign it and use the client id."""
    message = "No User Assigned or Delegated Managed Identity found for specified ClientId."
    body = '{"statusCode":400,"message":"' + message + '"}'
    err = identity_response_error(400, body, CTX)
    assert isinstance(err, errors.AuthenticationFailedError)
    assert not err.outage
    assert "Enable the system-assigned identity" in (err.hint or "")


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_identity_endpoint_5xx_and_429_are_outages(status: int) -> None:
    """Outages keep their real status."""
    err = identity_response_error(status, '{"message":"An unexpected error occured"}', CTX)
    assert isinstance(err, errors.IdentityUnavailableError)
    assert err.status == status


def _http_error(status: int, code: str) -> azure_exceptions.HttpResponseError:
    exc = azure_exceptions.HttpResponseError(message=f"{code}: text")
    exc.status_code = status
    exc.error = azure_exceptions.ODataV4Format({"code": code, "message": "text"})
    return exc


def test_key_vault_403_asks_for_a_role_and_404_names_the_object() -> None:
    """Forbidden is a misconfiguration naming the roles; not found is a KeyVaultError naming the object."""
    forbidden = map_exception(_http_error(403, "Forbidden"), "key-vault", CTX)
    assert isinstance(forbidden, errors.AuthenticationFailedError)
    assert "Key Vault Secrets User" in (forbidden.hint or "")
    missing = map_exception(_http_error(404, "SecretNotFound"), "key-vault", CTX)
    assert type(missing) is errors.KeyVaultError
    assert (missing.status, missing.code) == (404, "SecretNotFound")
    assert "'cert'" in str(missing)


def test_key_vault_throttling_is_an_outage() -> None:
    """A 429 from Key Vault is a KeyVaultError flagged as an outage."""
    err = map_exception(_http_error(429, "Throttled"), "key-vault", CTX)
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
    assert "shared/boundary.py" in (errors.__doc__ or "")
    assert errors.KeyVaultError("x").to_dict()["step"] == "key-vault"
