"""The one place where foreign exceptions become ours (httpx's `map_httpcore_exceptions` shape).

    with mapped(STEP_KEY_VAULT, ctx):
        client.get_secret(name)          # azure-core, requests or msal errors leave as ours

`mapped()` catches the three foreign roots only (requests.RequestException,
azure.core.exceptions.AzureError, msal.exceptions.MsalError) and raises ``map_exception(exc)
from exc``. `MAPPED` lists every public exception class of those libraries with the error
it becomes; a class the table does not name is mapped as its nearest listed base, and
tests/app/test_boundary.py fails when a library grows a public exception the table does not
name, so someone decides. Anything else (a KeyError, a TypeError) is a bug and propagates
unmapped.

Answers that are not exceptions are mapped here too: msal's result dicts with `error` and the
managed identity endpoint's non-200 answers. (Graph's answers are the Graph client's:
shared/graph maps them to GraphError.) The Graph client's requests exceptions come here
(`graph_transport_error`: they carry the call's method, path and client-request-id, so they
become `GraphError`/`GraphTimeoutError`, not credential errors). Errors carry the integer
HTTP status and AADSTS number as fields; messages quote service text up to its trace ids
and never a request body (which holds assertions and secrets).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from azure.core import exceptions as azure_exceptions
from msal import exceptions as msal_exceptions

from shared.errors import (
    AuthenticationFailedError,
    AutomationError,
    ConfigurationError,
    CredentialError,
    GraphError,
    GraphTimeoutError,
    IdentityUnavailableError,
    KeyVaultError,
)
from shared.http import RETRYABLE_STATUSES
from shared.identity import _hints

STEP_IDENTITY = "identity-endpoint"
STEP_ENTRA = "entra"
STEP_KEY_VAULT = "key-vault"
STEP_GRAPH = "graph"
STEP_DEPLOYER = "deployer-sign-in"  # the certificate bootstrap's Azure CLI / azd / device code sign-in

FOREIGN_ROOTS: tuple[type[Exception], ...] = (
    requests.RequestException,
    azure_exceptions.AzureError,
    msal_exceptions.MsalError,
)


@dataclass(frozen=True)
class Context:
    """What messages and hints may name: ids, names and thumbprints only (nothing secret)."""

    connection: str = ""
    client_id: str | None = None
    tenant_id: str | None = None
    authority_host: str | None = None
    thumbprint: str | None = None
    vault_url: str | None = None
    vault_object: str | None = None
    setting: str | None = None  # the app setting naming the vault object
    identity: str | None = None  # "user-assigned identity (client id ...)" or "system-assigned identity"
    identity_setting: str | None = None  # the app setting that chose the identity
    identity_id_kind: str | None = None  # "client id", "object (principal) id", "resource id"
    token_exchange_audience: str | None = None
    resource: str | None = None


NO_CONTEXT = Context()
_WHERE = {
    STEP_IDENTITY: "The managed identity endpoint",
    STEP_ENTRA: "Entra",
    STEP_KEY_VAULT: "Key Vault",
    STEP_GRAPH: "Microsoft Graph",
    STEP_DEPLOYER: "The deployer's sign-in",
}


@contextmanager
def mapped(step: str, ctx: Context = NO_CONTEXT) -> Iterator[None]:
    """Run a block that calls a foreign library; its errors leave as ours (`raise ... from exc`)."""
    try:
        yield
    except FOREIGN_ROOTS as exc:
        raise map_exception(exc, step, ctx) from exc


def map_exception(exc: Exception, step: str, ctx: Context = NO_CONTEXT) -> AutomationError:
    """Our error for a foreign exception (one of `FOREIGN_ROOTS`), by its nearest class in `MAPPED`."""
    for cls in type(exc).__mro__:
        handler = MAPPED.get(cls)
        if handler is not None:
            return handler(exc, step, ctx)
    raise TypeError(f"{type(exc).__name__} is not a foreign exception the boundary maps") from exc


def clean_description(text: str | None) -> str:
    """A service's error text up to its trace ids, on one line."""
    if not text:
        return ""
    text = text.split(" Trace ID:")[0].split("\r\n")[0]
    return " ".join(text.split())[:400]


# -- requests ------------------------------------------------------------------------------


def _tls(exc: Exception, step: str, ctx: Context) -> AutomationError:
    return ConfigurationError(
        f"{_WHERE.get(step, step)}: TLS verification failed ({type(exc).__name__}).",
        step=step,
        hint=_hints.CA_HINT,
    )


def _bad_url(exc: Exception, step: str, ctx: Context) -> AutomationError:
    return ConfigurationError(
        f"{_WHERE.get(step, step)}: the URL is not valid ({type(exc).__name__}).", step=step
    )


def _unreachable(exc: Exception, step: str, ctx: Context) -> AutomationError:
    kind = "timed out" if isinstance(exc, requests.Timeout) else "could not be reached"
    return IdentityUnavailableError(
        f"{_WHERE.get(step, step)} {kind} ({type(exc).__name__}) for connection '{ctx.connection}': "
        "an outage; retry later.",
        step=step,
    )


def _bad_answer(exc: Exception, step: str, ctx: Context) -> AutomationError:
    return IdentityUnavailableError(
        f"{_WHERE.get(step, step)} sent an unreadable answer ({type(exc).__name__}); retry later.", step=step
    )


# -- azure-core (Key Vault) ----------------------------------------------------------------


def _azure_http(exc: Exception, step: str, ctx: Context) -> AutomationError:
    assert isinstance(exc, azure_exceptions.HttpResponseError)
    obj = f"'{ctx.vault_object}'" if ctx.vault_object else "the object"
    vault = ctx.vault_url or "the vault"
    # getattr: an error raised before a response was read lacks these attributes.
    status: int | None = getattr(exc, "status_code", None)
    body_error = getattr(exc, "error", None)
    reason: str | None = getattr(exc, "reason", None)
    code: str | None = getattr(body_error, "code", None)
    detail = clean_description(getattr(body_error, "message", None) or reason or "")
    who = ctx.identity or "the managed identity"
    if status == 404 and code == "CertificateIssuerNotFound":
        return KeyVaultError(
            f"Key Vault {vault} has no certificate issuer of the name {obj}'s policy gives ({code}).",
            step=step,
            status=status,
            code=code,
            hint="Add the issuer (Key Vault > Certificates > Certificate Authorities), or set the "
            "certificate's issuer to Self (Key Vault > Certificates > the certificate > Issuance Policy).",
        )
    if status == 404:
        return KeyVaultError(
            f"Key Vault {vault} has no {obj} ({code or 'NotFound'}).",
            step=step,
            status=status,
            code=code,
            hint=f"Create it in the vault, or fix {ctx.setting or 'the setting naming it'}.",
        )
    if status == 403:
        return AuthenticationFailedError(
            f"Key Vault {vault} refused {who} access to {obj} ({code or 'Forbidden'}).",
            step=step,
            status=status,
            code=code,
            hint=_hints.key_vault_roles(who),
        )
    if status == 401:
        return AuthenticationFailedError(
            f"Key Vault {vault} rejected the managed identity's token ({code or 'Unauthorized'}: {detail}).",
            step=step,
            status=status,
            code=code,
            hint="The vault must be in the managed identity's tenant; check KEY_VAULT_URL.",
        )
    outage = status is not None and status in RETRYABLE_STATUSES
    return KeyVaultError(
        f"Key Vault {vault} answered HTTP {status} ({code or reason}) for {obj}"
        + ("; an outage or throttling, retry later." if outage else f": {detail}"),
        step=step,
        status=status,
        code=code,
        outage=outage,
    )


def _azure_transport(exc: Exception, step: str, ctx: Context) -> AutomationError:
    """Connection trouble below an HTTP answer: a TLS failure is ours to fix, the rest an outage."""
    if _is_tls_failure(exc):
        return _tls(exc, step, ctx)
    return KeyVaultError(
        f"Key Vault {ctx.vault_url or 'the vault'} could not be reached ({type(exc).__name__}): an outage; "
        "retry later.",
        step=step,
        outage=True,
    )


def _azure_auth(exc: Exception, step: str, ctx: Context) -> AutomationError:
    if step == STEP_DEPLOYER:
        # azure-identity's developer credentials (Azure CLI, azd, device code): their text says
        # what is missing ("Please run 'az login'"), with any token in the tool's output masked.
        return AuthenticationFailedError(
            f"{ctx.identity or 'The deployer'} could not get a token for {ctx.resource or 'the service'}: "
            f"{clean_description(str(exc))[:300] or type(exc).__name__}",
            step=step,
            hint="Sign in first: `az login --tenant <tenant id>` (--sign-in cli), `azd auth login` "
            "(--sign-in azd), or use --sign-in device-code. A password is never asked for.",
        )
    if getattr(exc, "status_code", None) is not None:
        return _azure_http(exc, step, ctx)
    return AuthenticationFailedError(
        f"Key Vault {ctx.vault_url or 'the vault'}: authentication failed ({type(exc).__name__}).", step=step
    )


def _azure_client_side(exc: Exception, step: str, ctx: Context) -> AutomationError:
    """azure-core refused to send or read (bad URL, bad answer, stream trouble): not a service error."""
    return KeyVaultError(
        f"Key Vault {ctx.vault_url or 'the vault'}: the SDK could not complete the call "
        f"({type(exc).__name__}).",
        step=step,
    )


def _is_tls_failure(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ssl.SSLError | requests.exceptions.SSLError):
            return True
        inner = getattr(exc, "inner_exception", None)
        exc = inner if isinstance(inner, BaseException) else (exc.__cause__ or exc.__context__)
        seen += 1
    return False


# -- msal ----------------------------------------------------------------------------------


def _msal_service(exc: Exception, step: str, ctx: Context) -> AutomationError:
    """msal raises on a 5xx token answer; the caller adds the status its HTTP client saw."""
    return IdentityUnavailableError(
        f"Entra answered with a server error for connection '{ctx.connection}': an outage; retry later.",
        step=step,
    )


def _msal_client(exc: Exception, step: str, ctx: Context) -> AutomationError:
    return AuthenticationFailedError(
        f"msal could not build the token request for connection '{ctx.connection}' ({type(exc).__name__}).",
        step=step,
        hint="Check the connection's certificate and authority settings.",
    )


def msal_result_error(result: Mapping[str, Any], *, status: int | None, ctx: Context) -> CredentialError:
    """The error an msal result dict with `error` stands for (returned, for the caller to raise)."""
    codes = result.get("error_codes")
    aadsts = codes[0] if isinstance(codes, list) and codes and isinstance(codes[0], int) else None
    error = str(result.get("error") or "unknown_error")
    described = clean_description(str(result.get("error_description") or ""))
    shown = f"AADSTS{aadsts}" if aadsts is not None else error
    if (status is not None and status in RETRYABLE_STATUSES) or error == "temporarily_unavailable":
        return IdentityUnavailableError(
            f"Entra is unavailable (HTTP {status or '?'}, {shown}) for connection '{ctx.connection}'; "
            "retry later.",
            step=STEP_ENTRA,
            status=status,
            code=shown,
            aadsts=aadsts,
        )
    return AuthenticationFailedError(
        f"Entra refused a token for app {ctx.client_id or '?'} in tenant {ctx.tenant_id or '?'} "
        f"(connection '{ctx.connection}', {error}, {shown}): {described}",
        step=STEP_ENTRA,
        status=status,
        code=shown,
        aadsts=aadsts,
        hint=_hints.aadsts_hint(aadsts, ctx),
    )


def msal_discovery_error(
    exc: Exception, *, status: int | None, tenant_id: str, ctx: Context
) -> CredentialError | None:
    """msal's constructor failing on the tenant's OpenID configuration, by the status Entra sent.

    msal raises ValueError ("Unable to get authority configuration") or an HTTP error for it;
    the status our HTTP client saw says which case it is. None when no answer explains `exc`
    (a bug or a bad credential dict: the caller lets it propagate).
    """
    if status is not None and status in RETRYABLE_STATUSES:
        return IdentityUnavailableError(
            f"Entra's OpenID configuration for tenant {tenant_id} answered HTTP {status}: an outage; "
            "retry later.",
            step=STEP_ENTRA,
            status=status,
        )
    if status is not None and 400 <= status < 500:
        return AuthenticationFailedError(
            f"Entra has no OpenID configuration for tenant '{tenant_id}' (HTTP {status}).",
            step=STEP_ENTRA,
            status=status,
            code="AADSTS90002",
            aadsts=90002,
            hint=_hints.aadsts_hint(90002, ctx),
        )
    return None


# -- the managed identity endpoint ---------------------------------------------------------


def identity_response_error(status: int, body: str, ctx: Context) -> CredentialError:
    """The error an identity endpoint answer (not 200) stands for."""
    detail = clean_description(_message_of(body))
    if status in RETRYABLE_STATUSES:
        return IdentityUnavailableError(
            f"The managed identity endpoint answered HTTP {status} for the {ctx.identity}: an outage "
            f"({detail or 'no detail'}); retry later.",
            step=STEP_IDENTITY,
            status=status,
        )
    if status == 400 and "identity" in detail.lower() and "found" in detail.lower():
        return AuthenticationFailedError(
            f"The managed identity endpoint has no {ctx.identity} ({detail}).",
            step=STEP_IDENTITY,
            status=status,
            code="identity_not_assigned",
            hint=_hints.identity_not_assigned(ctx),
        )
    if status in (401, 403):
        return AuthenticationFailedError(
            f"The managed identity endpoint refused the request (HTTP {status}): {detail}",
            step=STEP_IDENTITY,
            status=status,
            code="identity_header_rejected",
            hint="IDENTITY_HEADER must be the value App Service sets; do not set it by hand.",
        )
    return AuthenticationFailedError(
        f"The managed identity endpoint answered HTTP {status} for the {ctx.identity} and resource "
        f"'{ctx.resource}': {detail}",
        step=STEP_IDENTITY,
        status=status,
        hint="Check the resource URI (e.g. https://graph.microsoft.com).",
    )


def _message_of(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200]
    if isinstance(data, dict):
        for key in ("message", "error_description", "Message"):
            if isinstance(data.get(key), str):
                return str(data[key])
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return ""


# -- Graph answers (the context probe) -----------------------------------------------------


def graph_transport_error(
    exc: requests.RequestException, *, method: str, path: str, client_request_id: str
) -> GraphError:
    """The Graph client's requests exception as a GraphError; raise the result `from exc`.

    A timeout is `GraphTimeoutError` (socket timeouts are cut to the call's deadline); a TLS
    failure is ours to fix; anything else a GraphError, an outage when the connection broke.
    Only the exception's type is quoted: requests' messages embed the full URL, query included.
    """
    where = f"{method} {path}"
    if isinstance(exc, requests.Timeout):
        return GraphTimeoutError(
            f"Graph did not answer {where} in time ({type(exc).__name__}).",
            method=method,
            path=path,
            client_request_id=client_request_id,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return GraphError(
            f"TLS verification of Graph failed for {where}.",
            hint="With a private CA (the devstack), point REQUESTS_CA_BUNDLE at its PEM bundle.",
            outage=False,
            method=method,
            path=path,
            client_request_id=client_request_id,
        )
    return GraphError(
        f"Graph could not be reached for {where} ({type(exc).__name__}).",
        outage=isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)),
        method=method,
        path=path,
        client_request_id=client_request_id,
    )


Handler = Callable[[Exception, str, Context], AutomationError]

_re = requests.exceptions
_az = azure_exceptions
_ms = msal_exceptions
# Every public exception of the three libraries, decided one by one (the boundary test checks).
MAPPED: dict[type[BaseException], Handler] = {
    # requests
    _re.RequestException: _unreachable,
    _re.ConnectionError: _unreachable,
    _re.ProxyError: _unreachable,
    _re.SSLError: _tls,
    _re.Timeout: _unreachable,
    _re.ConnectTimeout: _unreachable,
    _re.ReadTimeout: _unreachable,
    _re.HTTPError: _bad_answer,
    _re.URLRequired: _bad_url,
    _re.TooManyRedirects: _bad_answer,
    _re.MissingSchema: _bad_url,
    _re.InvalidSchema: _bad_url,
    _re.InvalidURL: _bad_url,
    _re.InvalidHeader: _bad_url,
    _re.InvalidProxyURL: _bad_url,
    _re.ChunkedEncodingError: _bad_answer,
    _re.ContentDecodingError: _bad_answer,
    _re.StreamConsumedError: _bad_answer,
    _re.RetryError: _unreachable,
    _re.UnrewindableBodyError: _bad_answer,
    _re.InvalidJSONError: _bad_answer,
    _re.JSONDecodeError: _bad_answer,
    # azure-core
    _az.AzureError: _azure_transport,
    _az.ServiceRequestError: _azure_transport,
    _az.ServiceResponseError: _azure_transport,
    _az.ServiceRequestTimeoutError: _azure_transport,
    _az.ServiceResponseTimeoutError: _azure_transport,
    _az.HttpResponseError: _azure_http,
    _az.DecodeError: _azure_client_side,
    _az.IncompleteReadError: _azure_transport,
    _az.ResourceExistsError: _azure_http,
    _az.ResourceNotFoundError: _azure_http,
    _az.ClientAuthenticationError: _azure_auth,
    _az.ResourceModifiedError: _azure_http,
    _az.ResourceNotModifiedError: _azure_http,
    _az.TooManyRedirectsError: _azure_http,
    _az.ODataV4Error: _azure_http,
    _az.StreamConsumedError: _azure_client_side,
    _az.StreamClosedError: _azure_client_side,
    _az.ResponseNotReadError: _azure_client_side,
    # msal
    _ms.MsalError: _msal_client,
    _ms.MsalServiceError: _msal_service,
}
