"""The one place to edit when the app reads a new setting (tests/infra/test_infra.py checks both ways).

The settings tests compare what function_app.py and shared/ read with what the Bicep sets
(main.bicep `var appSettings`, connection-settings.bicep, function-app.bicep). A new setting is
either set by the Bicep (add it to main.bicep's `var appSettings`, and to CONTRACT_SETTINGS if the
config module does not exist yet) or read with a default the code owns: then list it in
NOT_SET_BY_BICEP (a name) or NOT_SET_BY_BICEP_PATTERNS (a family such as JOB_<NAME>_SCHEDULE),
with the reason (a connection field: CONNECTION_FIELDS_NOT_SET_BY_BICEP). A literal in the code
counts as a setting name when SETTING_NAME matches it (extend SETTING_PREFIXES for a new family)
or when it is a value of the config module's `EnvironmentVariables` / `ConnectionFields` classes.
Deployers pass feature settings with DEPLOY_APP_SETTINGS (main.bicep `extraAppSettings`).
"""

from __future__ import annotations

import re

# docs/contract.md, "Settings": what the app reads. Used for the "no orphan setting" direction until
# the config module (shared/config.py) exists; from then on, the settings found in the code are used.
CONTRACT_SETTINGS = {"AZURE_CLIENT_ID", "AZURE_CLOUD", "KEY_VAULT_URL"}

# The <FIELD> of CONNECTIONS__<NAME>__<FIELD> (shared/config.py ConnectionFields).
CONNECTION_FIELDS = {
    "CREDENTIAL",
    "TENANT_ID",
    "CLIENT_ID",
    "CERTIFICATE",
    "SECRET",
    "KEY",
    "SEND_CERTIFICATE_CHAIN",
}

# Connection fields the code reads that the Bicep never sets, with the reason.
CONNECTION_FIELDS_NOT_SET_BY_BICEP = {
    "MANAGED_IDENTITY_OBJECT_ID": "alternative to MANAGED_IDENTITY_CLIENT_ID, which connectionType names",
    "MANAGED_IDENTITY_RESOURCE_ID": "alternative to MANAGED_IDENTITY_CLIENT_ID, which connectionType names",
}

# Read by the code but never set by the Bicep, with the reason.
NOT_SET_BY_BICEP = {
    "AZURE_AUTHORITY_HOST": "devstack override of the Entra endpoint (Azure derives it from AZURE_CLOUD)",
    "GRAPH_URL": "devstack override of the Graph endpoint (Azure derives it from AZURE_CLOUD)",
    "IDENTITY_ENDPOINT": "provided by the Functions platform for managed identity",
    "IDENTITY_HEADER": "provided by the Functions platform for managed identity",
    "REQUESTS_CA_BUNDLE": "devstack CA bundle; never set in Azure",
    "ARM_URL": "devstack override of the Resource Manager endpoint (Azure derives it from AZURE_CLOUD)",
    "AZURE_FUNCTIONS_ENVIRONMENT": "provided by the Functions host",
    "TOKEN_DEADLINE_SECONDS": "optional tuning; the code's default suits Functions",
    "RETRY_AFTER_CAP_SECONDS": "optional tuning; the code's default suits Functions",
    "KEY_VAULT_REFRESH_SECONDS": "optional tuning; the code's default suits Functions",
    "AZURE_MANAGED_IDENTITY_OBJECT_ID": "alternative to AZURE_CLIENT_ID, which the Bicep sets",
    "AZURE_MANAGED_IDENTITY_RESOURCE_ID": "alternative to AZURE_CLIENT_ID, which the Bicep sets",
    "AZURE_CLI_CLIENT_ID": "not a setting: the Azure CLI's public client id, exported by shared.certificates",
    "TELEMETRY_CONSOLE": "local development: telemetry to stdout (docs/telemetry.md); off by default",
}

# Families of optional settings, by pattern, with the reason.
FEATURE = (
    "a feature setting with a default of its own: DEPLOY_APP_SETTINGS (extraAppSettings) or app settings"
)
NOT_SET_BY_BICEP_PATTERNS = {
    r"JOB_[A-Z0-9_]+_SCHEDULE": "optional per-job schedule override; the job's declared schedule applies",
    # The webhooks' and automations' settings, by name: a new one is asked for here.
    r"WEBHOOKS_(MAX_BODY_BYTES|RETENTION_DAYS|SIGNED_SOURCES|HANDLER_MODULES)": FEATURE,
    r"WEBHOOKS_GRAPH_(CLIENT_STATE_SECRET|CONNECTION|APP_ID|TENANT_ID|ENCRYPTION_CERTIFICATE)": FEATURE,
    r"WEBHOOKS_GRAPH_(NOTIFICATION_URL|SUBSCRIPTIONS)": FEATURE,
    r"AUTOMATIONS__(CONNECTION|AUDIENCES|ALLOWED_TENANTS|TOKEN_VERSIONS)": FEATURE,
    r"JOB_[A-Z0-9_]+_ENABLED": "optional per-job switch; jobs are enabled by default",
    r"JOB_[A-Z0-9_]+_(GRACE_HOURS|VALIDITY_DAYS)": "optional rotation tuning; defaults in the job's module",
    r"JOB_[A-Z0-9_]+_(CONNECTIONS?|DAYS|SERVICE_PRINCIPALS|KEY_VAULT|NOTIFY_SECRET)": (
        "optional per-job settings with defaults in the job's module (docs/contract.md, Jobs)"
    ),
    r"RUNS_(RETENTION_DAYS|OUTPUT_MAX_BYTES)": "optional ledger tuning; defaults in shared/runs",
    r"CERTIFICATES__[A-Z0-9_]+__(SUBJECT|ISSUER|VALIDITY_MONTHS|KEY_SIZE)": (
        "the certificate bootstrap's policy, read on the deployer's machine (azd env), never by the app"
    ),
}

# Provided by the platform, whatever their name.
PLATFORM_PREFIXES = ("WEBSITE_", "FUNCTIONS_")

# Set by the Bicep for the Functions host, not for the code.
HOST_SETTINGS = re.compile(r"^(AzureWebJobsStorage__\w+|APPLICATIONINSIGHTS_[A-Z_]+)$")

# String literals in the code that name a setting: these names, and these prefixes.
SETTING_NAMES = ("KEY_VAULT_URL", "GRAPH_URL", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE")
SETTING_PREFIXES = (
    "AZURE_",
    "APPLICATIONINSIGHTS_",
    "WEBSITE_",
    "FUNCTIONS_",
    "JOB_",
    "WEBHOOKS_",
    "AUTOMATIONS__",
    "RUNS_",
    "CERTIFICATES__",
    "TELEMETRY_",
)
SETTING_NAME = re.compile(
    "^(?:"
    + "|".join(
        [
            *map(re.escape, SETTING_NAMES),
            *(re.escape(p) + "[A-Z0-9_]+" for p in SETTING_PREFIXES),
            r"AzureWebJobs\w+",
        ]
    )
    + ")$"
)


def not_set_by_bicep(name: str) -> bool:
    """Whether a setting the code reads may stay unset in Azure (listed above with a reason)."""
    return name in NOT_SET_BY_BICEP or any(re.fullmatch(p, name) for p in NOT_SET_BY_BICEP_PATTERNS)
