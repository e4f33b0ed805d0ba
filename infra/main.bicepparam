// Parameters for main.bicep, read from environment variables so that `azd up` (whose environment
// values are environment variables: `azd env set NAME value`) and a plain
// `az deployment group create -g RG -f infra/main.bicep -p infra/main.bicepparam` work alike.
// Structured values are JSON. Nothing here is a secret: certificates, secrets and keys go into
// Key Vault after deployment (infra/README.md).
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'entra-automation')

param location = readEnvironmentVariable('AZURE_LOCATION', 'swedencentral')

// azd sets AZURE_PRINCIPAL_ID to the signed-in principal: it gets Key Vault Certificates Officer.
param deployerPrincipalId = empty(readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')) ? null : readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')

// The preprovision hook (infra/hooks/azd_env.py) sets AZURE_PRINCIPAL_TYPE from what azd is signed
// in as (ServicePrincipal in CI). any(): an environment variable is a plain string; the deployment
// checks it against the allowed values.
param deployerPrincipalType = any(readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User'))

param instanceMemoryMB = any(int(readEnvironmentVariable('DEPLOY_INSTANCE_MEMORY_MB', '2048')))

param maximumInstanceCount = int(readEnvironmentVariable('DEPLOY_MAXIMUM_INSTANCE_COUNT', '40'))

// JSON array, for example [{"name": "function:graph_webhook", "instanceCount": 1}].
param alwaysReady = json(readEnvironmentVariable('DEPLOY_ALWAYS_READY', '[]'))

// JSON array of connections, for example
// [{"name": "GRAPH", "credential": "certificate", "clientId": "<app id>", "certificateName": "graph-automation"}].
param connections = json(readEnvironmentVariable('DEPLOY_CONNECTIONS', '[]'))

// JSON object of networkingType (types.bicep), or empty for no virtual network integration.
param networking = empty(readEnvironmentVariable('DEPLOY_NETWORKING', '')) ? null : json(readEnvironmentVariable('DEPLOY_NETWORKING', '{}'))

// JSON object of more app settings (feature settings), for example
// {"WEBHOOKS_GRAPH_NOTIFICATION_URL": "https://<app host>/api/webhooks/graph", "JOB_STALE_GUESTS_SCHEDULE": "0 0 3 * * *"}.
param extraAppSettings = json(readEnvironmentVariable('DEPLOY_APP_SETTINGS', '{}'))

param deployGraphApp = bool(readEnvironmentVariable('DEPLOY_GRAPH_APP', 'false'))

// JSON array, for example [{"principal": "managedIdentity", "appRole": "User.Read.All"}].
param graphAppRoleAssignments = json(readEnvironmentVariable('DEPLOY_GRAPH_APP_ROLES', '[]'))

// A random suffix of the vault name kept in the azd environment (infra/hooks/azd_env.py): a new
// one after `azd down`, as the deleted vault keeps its name while purge protection holds it.
param keyVaultNameSalt = readEnvironmentVariable('AZURE_KEY_VAULT_SALT', '')
