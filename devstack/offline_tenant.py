"""Starts and stops the four emulators as one offline tenant (interface used by `devstack up`).

STUB: the real implementation lands with the emulators; the interface below is fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class OfflineTenant:
    """The running emulators: identity endpoint, Entra ID, Key Vault and Graph."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    @classmethod
    def start(cls, state_dir: Path) -> OfflineTenant:
        """Start every emulator on an ephemeral loopback port; write `state_dir / "ca.pem"`."""
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(state_dir)

    def state(self) -> dict[str, Any]:
        """The `.devstack/state.json` keys this part owns (all but baseUrl, functionKey, storageConnectionString)."""
        return {
            "caBundle": str(self.state_dir / "ca.pem"),
            "tenantId": "00000000-0000-0000-0000-000000000000",
            "identityEndpoint": "",
            "identityHeader": "",
            "managedIdentityClientId": "",
            "authorityHost": "",
            "keyVaultUrl": "",
            "graphUrl": "",
            "app": {"clientId": "", "certificateName": "", "secretName": ""},
        }

    def app_settings(self) -> dict[str, str]:
        """Environment the app gets so it talks to the emulators (identity, authority, vault, Graph, CA, connections)."""
        return {}

    def stop(self) -> None:
        """Stop every emulator; idempotent."""
