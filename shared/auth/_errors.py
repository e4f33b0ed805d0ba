"""Why a caller's token was refused: one error with a reason safe to show (never the token)."""

from __future__ import annotations

from shared.errors import AutomationError

# Reasons a 401 names (RFC 6750 `error_description`): coarse on purpose, so a refusal tells an
# honest caller what to fix and a forger nothing about which check it got past.
MISSING = "No bearer token was presented."
MALFORMED = "The token is not a well-formed JWT."
ALGORITHM = "The token's signing algorithm is not accepted (RS256 only)."
SIGNATURE = "The token's signature could not be verified with the tenant's signing keys."
EXPIRED = "The token has expired."
NOT_YET_VALID = "The token is not valid yet."
AUDIENCE = "The token was not issued for this API (audience)."
ISSUER = "The token's issuer is not accepted."
TENANT = "The token's tenant is not allowed."
VERSION = "The token's version is not accepted."
CLAIMS = "The token lacks a required claim."
KEYS_UNAVAILABLE = "The tenant's signing keys could not be read; try again later."


class InvalidTokenError(AutomationError):
    """The bearer token is missing or not acceptable; `reason` is one of this module's sentences."""

    default_step = "token-validation"

    def __init__(self, reason: str, *, outage: bool = False) -> None:
        super().__init__(reason, code="invalid_token", outage=outage)
        self.reason = reason
