"""The one boundary where foreign errors become ours (httpx's `map_httpcore_exceptions`).

msal answers with result dicts (`error`, `error_codes`, `error_description`) or raises
`MsalServiceError` on 5xx; azure-core raises `HttpResponseError` and its subclasses; requests
raises `RequestException`s. Each becomes an `AutomationError` that says whether it is an
outage or a misconfiguration, where it happened (`step`), the real status, and what to fix.
Messages quote service text only up to its trace ids, and never a request body (which holds
assertions and secrets).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import requests
from azure.core import exceptions as azure_exceptions
from msal import exceptions as msal_exceptions

from shared.errors import (
    AuthenticationFailedError,
    AutomationError,
    ConfigurationError,
    CredentialError,
    IdentityUnavailableError,
    KeyVaultError,
)
from shared.http import RETRYABLE_STATUSES

STEP_IDENTITY = "identity-endpoint"
STEP_ENTRA = "entra"
STEP_KEY_VAULT = "key-vault"

_CA_HINT = (
    "TLS verification failed: if the service uses a private CA, point REQUESTS_CA_BUNDLE at its PEM bundle."
)


@dataclass(frozen=True)
class Context:
    """What the hints may name: ids, names and thumbprints only (nothing secret)."""

    connection: str = ""
    client_id: str | None = None
    tenant_id: str | None = None
    authority_host: str | None = None
    thumbprint: str | None = None
    vault_url: str | None = None
    vault_object: str | None = None
    setting: str | None = None  # the app setting naming the vault object
    identity: str | None = None  # "user-assigned <client id>" or "system-assigned"
    token_exchange_audience: str | None = None
    resource: str | None = None


NO_CONTEXT = Context()


def clean_description(text: str | None) -> str:
    """A service's error text up to its trace ids, on one line."""
    if not text:
        return ""
    text = text.split(" Trace ID:")[0].split("\r\n")[0]
    return " ".join(text.split())[:400]


def aadsts_code(result: Mapping[str, Any]) -> int | None:
    codes = result.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    match = re.match(r"AADSTS(\d+)", str(result.get("error_description") or ""))
    return int(match.group(1)) if match else None


# -- Entra (msal result dicts) -------------------------------------------------------------

_ROTATION_CODES = frozenset({700027, 700024, 7000215, 7000222, 700023})


def is_stale_credential(code: int | None) -> bool:
    """Codes after which a newer Key Vault version may fix things (reload and retry once)."""
    return code in _ROTATION_CODES


def _aadsts_hint(code: int | None, ctx: Context) -> str:
    app, tenant = ctx.client_id or "?", ctx.tenant_id or "?"
    hints: dict[int, str] = {
        700027: (
            f"The certificate with thumbprint {ctx.thumbprint or '?'} is not registered on app {app}: "
            "upload it (App registrations > Certificates & secrets) or check rotation "
            "(the Key Vault's current version must be the one registered)."
        ),
        700024: "The client assertion is outside its valid time: check the clock and certificate.",
        7000215: (
            f"Key Vault secret '{ctx.vault_object}' must hold the client secret VALUE (not its id) of app "
            f"{app}, and be current: add the new value as a new version."
        ),
        7000222: f"The client secret of app {app} has expired: create a new one and store it in Key Vault.",
        700016: (
            f"App {app} is not in tenant {tenant}: check {ctx.setting or 'CLIENT_ID'} and TENANT_ID; for a "
            "multitenant app, an admin of that tenant must consent (provision it) first."
        ),
        700213: _federation_hint(ctx),
        700211: _federation_hint(ctx),
        70021: _federation_hint(ctx),
        70011: f"Ask for '{ctx.resource or '<resource>'}/.default': app-only tokens take no named scopes.",
        1002012: f"Ask for '{ctx.resource or '<resource>'}/.default': app-only tokens take no named scopes.",
        500011: (
            f"The resource '{ctx.resource}' has no service principal in tenant {tenant}: check the URI, or "
            "have an admin consent the API there."
        ),
        90002: f"Tenant '{tenant}' was not found: check the connection's TENANT_ID.",
        7000112: f"App {app} is disabled in tenant {tenant}.",
    }
    if code in hints:
        return hints[code]
    return f"Check the credential registered on app {app} in tenant {tenant}."


def _federation_hint(ctx: Context) -> str:
    issuer = f"{ctx.authority_host or 'https://login.microsoftonline.com'}/<identity's tenant id>/v2.0"
    return (
        f"Add a federated credential on app {ctx.client_id or '?'} with issuer {issuer}, subject = the "
        f"managed identity's object (principal) id ({ctx.identity or 'the identity'}), audience "
        f"{ctx.token_exchange_audience or 'api://AzureADTokenExchange'}."
    )


def map_msal_result(
    result: Mapping[str, Any], step: str = STEP_ENTRA, *, status: int | None = None, ctx: Context = NO_CONTEXT
) -> CredentialError:
    """The error an msal result dict with `error` stands for (returned, for the caller to raise)."""
    code = aadsts_code(result)
    error = str(result.get("error") or "unknown_error")
    described = clean_description(str(result.get("error_description") or ""))
    shown = f"AADSTS{code}" if code is not None else error
    if (status is not None and status in RETRYABLE_STATUSES) or error == "temporarily_unavailable":
        return IdentityUnavailableError(
            f"Entra is unavailable (HTTP {status or '?'}, {shown}) for connection '{ctx.connection}'; "
            "retry later.",
            step=step,
            status=status,
            code=shown,
        )
    return AuthenticationFailedError(
        f"Entra refused a token for app {ctx.client_id or '?'} in tenant {ctx.tenant_id or '?'} "
        f"(connection '{ctx.connection}', {error}, {shown}): {described}",
        step=step,
        status=status,
        code=shown,
        hint=_aadsts_hint(code, ctx),
    )


# -- the managed identity endpoint ---------------------------------------------------------


def map_identity_response(status: int, body: str, ctx: Context) -> CredentialError:
    """The error an identity endpoint answer (not 200) stands for."""
    detail = clean_description(_message_of(body))
    if status in RETRYABLE_STATUSES:
        return IdentityUnavailableError(
            f"The managed identity endpoint answered HTTP {status} for {ctx.identity}: an outage "
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
            hint=(
                "Assign the user-assigned identity to the function app (Identity > User assigned), and set "
                "AZURE_CLIENT_ID (or the connection's MANAGED_IDENTITY_CLIENT_ID) to its CLIENT id, "
                "not its object id."
            ),
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
        f"The managed identity endpoint answered HTTP {status} for {ctx.identity} and resource "
        f"'{ctx.resource}': {detail}",
        step=STEP_IDENTITY,
        status=status,
        hint="Check the resource URI (e.g. https://graph.microsoft.com).",
    )


def _message_of(body: str) -> str:
    import json

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


# -- requests ------------------------------------------------------------------------------


def map_requests_error(
    exc: requests.RequestException, step: str, ctx: Context = NO_CONTEXT
) -> AutomationError:
    """A transport failure: TLS trouble is a misconfiguration, anything else an outage."""
    where = _where(step)
    if isinstance(exc, requests.exceptions.SSLError):
        return ConfigurationError(f"{where}: {type(exc).__name__}.", step=step, hint=_CA_HINT)
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema | ValueError):
        return ConfigurationError(f"{where}: the URL is not valid ({type(exc).__name__}).", step=step)
    kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "could not be reached"
    return IdentityUnavailableError(
        f"{where} {kind} ({type(exc).__name__}) for connection '{ctx.connection}': an outage; retry later.",
        step=step,
    )


def _where(step: str) -> str:
    return {
        STEP_IDENTITY: "The managed identity endpoint",
        STEP_ENTRA: "Entra",
        STEP_KEY_VAULT: "Key Vault",
    }.get(step, step)


# -- azure-core (Key Vault) ----------------------------------------------------------------


def map_azure_error(
    exc: azure_exceptions.AzureError, step: str = STEP_KEY_VAULT, ctx: Context = NO_CONTEXT
) -> AutomationError:
    """An azure-core error from a Key Vault call."""
    obj = f"'{ctx.vault_object}'" if ctx.vault_object else "the object"
    vault = ctx.vault_url or "the vault"
    if isinstance(exc, azure_exceptions.HttpResponseError):
        status = getattr(exc, "status_code", None)
        body_error = getattr(exc, "error", None)
        code = getattr(body_error, "code", None)
        reason = getattr(exc, "reason", None)
        detail = clean_description(getattr(body_error, "message", None) or reason or "")
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
                f"Key Vault {vault} refused {ctx.identity or 'the managed identity'} access to {obj} "
                f"({code or 'Forbidden'}).",
                step=step,
                status=status,
                code=code,
                hint=(
                    f"Grant {ctx.identity or 'the identity'} 'Key Vault Secrets User' (certificates and "
                    "secrets), 'Key Vault Certificate User' (certificate metadata) or 'Key Vault Crypto "
                    "User' (signing keys) on the vault."
                ),
            )
        if status == 401:
            return AuthenticationFailedError(
                f"Key Vault {vault} rejected the managed identity's token "
                f"({code or 'Unauthorized'}: {detail}).",
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
    inner = getattr(exc, "inner_exception", None) or exc.__cause__
    if _is_tls_failure(inner) or _is_tls_failure(exc):
        return ConfigurationError(f"Key Vault {vault}: TLS verification failed.", step=step, hint=_CA_HINT)
    if isinstance(exc, azure_exceptions.ClientAuthenticationError):
        return AuthenticationFailedError(f"Key Vault {vault}: authentication failed.", step=step)
    return KeyVaultError(
        f"Key Vault {vault} could not be reached ({type(exc).__name__}): an outage; retry later.",
        step=step,
        outage=True,
    )


def _is_tls_failure(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 6:
        if isinstance(exc, ssl.SSLError | requests.exceptions.SSLError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


# -- msal exceptions -----------------------------------------------------------------------


def map_msal_exception(exc: Exception, step: str = STEP_ENTRA, ctx: Context = NO_CONTEXT) -> AutomationError:
    """msal raises MsalServiceError on a 5xx token answer; anything else from it is a bug or bad input."""
    if isinstance(exc, msal_exceptions.MsalServiceError):
        status_match = re.search(r"HTTP Error: (\d{3})", str(exc))
        status = int(status_match.group(1)) if status_match else None
        return IdentityUnavailableError(
            f"Entra answered HTTP {status or '5xx'} for connection '{ctx.connection}': "
            "an outage; retry later.",
            step=step,
            status=status,
        )
    return AuthenticationFailedError(
        f"msal could not build the token request for connection '{ctx.connection}' ({type(exc).__name__}).",
        step=step,
        hint="Check the connection's certificate and authority settings.",
    )


# -- one entry point -----------------------------------------------------------------------

# Every foreign base class we map, in the order they are tried (the leak test walks these).
FOREIGN_BASES: tuple[type[BaseException], ...] = (
    requests.RequestException,
    azure_exceptions.AzureError,
    msal_exceptions.MsalError,
)


def map_exception(exc: BaseException, step: str, ctx: Context = NO_CONTEXT) -> AutomationError:
    """Our error for any foreign exception from the identity stack."""
    if isinstance(exc, AutomationError):
        return exc
    if isinstance(exc, requests.RequestException):
        return map_requests_error(exc, step, ctx)
    if isinstance(exc, azure_exceptions.AzureError):
        return map_azure_error(exc, step, ctx)
    if isinstance(exc, msal_exceptions.MsalError | ValueError):
        # msal raises ValueError for an unreadable token answer or a bad credential dict.
        return map_msal_exception(exc, step, ctx)
    return CredentialError(
        f"Unexpected {type(exc).__name__} at step {step} for connection '{ctx.connection}'.", step=step
    )


@contextmanager
def boundary(step: str, ctx: Context = NO_CONTEXT) -> Iterator[None]:
    """Run a block that calls a foreign library; its errors leave as ours (`raise ... from exc`)."""
    try:
        yield
    except AutomationError:
        raise
    except (
        requests.RequestException,
        azure_exceptions.AzureError,
        msal_exceptions.MsalError,
        ValueError,
        OSError,
    ) as exc:
        raise map_exception(exc, step, ctx) from exc


def raise_mapped(exc: BaseException, step: str, ctx: Context = NO_CONTEXT) -> NoReturn:
    raise map_exception(exc, step, ctx) from exc
