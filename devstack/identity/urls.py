"""URL map of the identity endpoint: path -> (operation name, handler name, methods)."""

from __future__ import annotations

url_paths: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/msi/token", "GetManagedIdentityToken", "get_token", ("GET",)),
]
