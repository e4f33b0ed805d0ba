"""Certificates that look after themselves: the bootstrap that gives a connection its first one.

    python -m shared.certificates bootstrap [--connection NAME]... [--dry-run]
                                            [--sign-in cli|azd|device-code] [--json]

creates each certificate or keyvault-key connection's certificate in Key Vault and registers it
on the app registration (shared/certificates/_bootstrap.py); the `certificate-rotation` job
(shared/jobs/builtin/certificate_rotation.py) renews it from then on. Runs on the deployer's
machine (the azd postprovision hook calls it), signed in as the deployer: docs/identity.md.
Imported only by the command: the Function App never loads it.
"""

from __future__ import annotations

from shared.certificates._bootstrap import ADD_KEY, PATCH, BootstrapError, Outcome, bootstrap
from shared.certificates._deployer import SIGN_INS
from shared.certificates._policy import Policy, policy_for

__all__ = [
    "ADD_KEY",
    "PATCH",
    "SIGN_INS",
    "BootstrapError",
    "Outcome",
    "Policy",
    "bootstrap",
    "policy_for",
]
