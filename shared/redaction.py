"""Last line of defence before text leaves the app: blank out anything shaped like a credential.

Our own messages never carry a token, secret or key; this catches what slips in anyway (a
service that echoes an assertion, a future message that quotes a header) in problem details
and the context report.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_PATTERNS = (
    # JWTs (access tokens, client assertions): base64url header starting with '{"'.
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    # PEM blocks (private keys, certificates with chains).
    re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?-----END [A-Z0-9 ]+-----", re.DOTALL),
)
# Long base64 runs (PFX blobs, keys); thumbprints are hex and ids are GUIDs, both shorter.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{80,}={0,2}")


def _blob_or_path(match: re.Match[str]) -> str:
    run = match.group(0)
    # Azure resource ids are long too, but have a '/' every few characters; base64 rarely does.
    return run if run.count("/") * 20 > len(run) else REDACTED


def redact(text: str) -> str:
    """Return `text` with JWTs, PEM blocks and long base64 runs replaced by a marker."""
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return _BASE64_RUN.sub(_blob_or_path, text)
