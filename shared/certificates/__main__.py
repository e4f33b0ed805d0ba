"""`python -m shared.certificates bootstrap`: give certificate connections their first certificate.

    python -m shared.certificates bootstrap [--connection NAME]... [--dry-run]
                                            [--sign-in cli|azd|device-code] [--json]

Reads the same settings as the app (environment, or local.settings.json's Values when a
variable is unset), signs in as the deployer, and prints per connection what it did and the
thumbprint (with --json, one JSON document instead). Never prints a token, key or secret.
Exit status 0 when every connection has its certificate (or would, with --dry-run), 1 when a
step failed (the message names it and says what to grant), 2 for bad usage, 3 when a CA issuer
has not issued a certificate within --wait (the request stays with Key Vault; run again later).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from shared.certificates._bootstrap import DEFAULT_WAIT_S
from shared.certificates._deployer import SIGN_INS
from shared.config.local_file import apply_local_settings

PENDING = 3  # exit status: a certificate is still with its CA issuer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.certificates",
        description="Certificates of certificate and keyvault-key connections (docs/identity.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "bootstrap",
        help="create each connection's certificate in Key Vault and register it on its app (idempotent)",
    )
    run.add_argument(
        "--connection", action="append", dest="connections", metavar="NAME", help="only this one (repeatable)"
    )
    run.add_argument("--dry-run", action="store_true", help="read and say what would change; change nothing")
    run.add_argument(
        "--sign-in",
        choices=SIGN_INS,
        default="cli",
        help="the deployer's sign-in: Azure CLI (default), Azure Developer CLI, or a device code",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help=f"how long to wait for a CA issuer to issue a certificate (default {DEFAULT_WAIT_S:g})",
    )
    run.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    apply_local_settings()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from shared.certificates._bootstrap import bootstrap
    from shared.errors import AutomationError

    try:
        outcomes = bootstrap(args.connections, how=args.sign_in, dry_run=args.dry_run, wait_s=args.wait)
    except AutomationError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    status = PENDING if any(o.pending is not None for o in outcomes) else 0
    if args.json:
        print(json.dumps({"connections": [o.as_dict() for o in outcomes]}, indent=2))
        return status
    for outcome in outcomes:
        for line in outcome.lines():
            print(line)
    changed = sum(o.changed for o in outcomes)
    verb = "would change" if args.dry_run else "changed"
    print(f"{verb} {changed}, unchanged {len(outcomes) - changed}.", end=" ")
    print("GET /api/context?connection=<name> shows each certificate (thumbprint, notAfter, days left).")
    return status


if __name__ == "__main__":
    sys.exit(main())
