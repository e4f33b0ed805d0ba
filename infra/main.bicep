metadata name = 'Entra automation on Azure Functions'
metadata description = 'Deploys the app secretless and least-privilege: Flex Consumption Function App, user-assigned identity, storage without shared keys, Key Vault with Azure RBAC, Application Insights with Entra authentication, and only the roles the code needs.'

// This file wires the modules together and holds no resource of its own: every Azure resource is
// declared in modules/, which checkov checks. checkov's Bicep parser cannot read the newer syntax
// used here (import, nullable and user-defined parameter types, lambdas), so this file, types.bicep,
// modules/graph-app.bicep and modules/connection-settings.bicep (none of which declares an Azure
// resource) are skipped by checkov and checked by tree-sitter-bicep and tests/test_infra.py instead.

targetScope = 'resourceGroup'

import { alwaysReadyType, connectionType, graphAppRoleAssignmentType, networkingType } from 'types.bicep'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@description('Required. Short name of the environment (the azd environment name); resource names derive from it.')
@minLength(2)
@maxLength(24)
param environmentName string

@description('Optional. Azure region of every resource. Defaults to the resource group\'s region.')
param location string = resourceGroup().location

@description('Optional. Tags applied to every resource.')
param tags object?

@description('Optional. Name of the Function App. Defaults to a name derived from environmentName.')
param functionAppName string?

@description('Optional. Name of the storage account. Defaults to a name derived from environmentName.')
param storageAccountName string?

@description('Optional. Name of the Key Vault. Defaults to a name derived from environmentName and keyVaultNameSalt.')
param keyVaultName string?

@description('Optional. Up to 8 lower-case letters or digits appended to the default Key Vault name. A deleted vault keeps its name for its retention period (purge protection is on), so `azd down` followed by `azd up` needs a new one: the azd hooks (infra/hooks/azd_env.py) keep a random salt in the azd environment and change it after `azd down`.')
@maxLength(8)
param keyVaultNameSalt string = ''

@description('Optional. Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Maximum number of instances the app scales out to (Flex Consumption: 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Always-ready instances, for example { name: \'function:graph_webhook\', instanceCount: 1 } so that webhooks answer their validation handshake without a cold start. None by default.')
param alwaysReady alwaysReadyType[]?

@description('Optional. Spread the plan\'s instances across availability zones (only in regions that offer it for Flex Consumption).')
param zoneRedundant bool = false

@description('Optional. The named connections the app uses (CONNECTIONS__<NAME>__* settings). None by default: the app then acts only with its managed identity.')
param connections connectionType[]?

// The names below are the ones the code uses (tests/infra/test_infra.py compares them with the
// QUEUE / TABLE / CONTAINER constants of function_app.py and shared/).
@description('Optional. Names of the storage queues the app uses (created here; the app and the host may create more, such as poison queues).')
param queueNames string[] = [
  'automation-runs'
  'jobs-runs'
  'jobs-units'
  'jobs-units-poison'
  'webhook-events'
]

@description('Optional. Names of the storage tables the app uses (letters and digits only).')
param tableNames string[] = [
  'automationaudit'
  'jobleases'
  'runs'
  'webhooksubscriptions'
]

@description('Optional. Names of the blob containers the app keeps data in (job outputs, webhook payloads). The app\'s identity gets Storage Blob Data Contributor on these containers only.')
param dataContainerNames string[] = [
  'run-outputs'
  'webhook-payloads'
]

@description('Optional. More app settings, as an object of name to value: the features\' settings (WEBHOOKS_*, AUTOMATIONS__*, RUNS_*, JOB_<NAME>_SCHEDULE, see docs/contract.md). Names of Key Vault objects only, never a secret. The settings this template sets win over these.')
param extraAppSettings object?

@description('Optional. Public network access of the Key Vault. Defaults to Disabled with virtual network integration, Enabled without.')
param keyVaultPublicNetworkAccess ('Enabled' | 'Disabled')?

@description('Optional. Virtual network integration with private endpoints for storage and Key Vault. None by default.')
param networking networkingType?

@description('Optional. Object (principal) id of whoever deploys (azd sets AZURE_PRINCIPAL_ID): gets what the certificate bootstrap (the azd postprovision hook) needs on the vaults of certificate and keyvault-key connections: Key Vault Certificates Officer to create certificates, Key Vault Secrets User (certificate) or Key Vault Crypto User (keyvault-key) to sign the addKey proof with a certificate the app already has.')
param deployerPrincipalId string?

@description('Optional. Type of the deployer\'s principal: the azd preprovision hook sets AZURE_PRINCIPAL_TYPE from what azd is signed in as (User, or ServicePrincipal in CI).')
param deployerPrincipalType ('User' | 'ServicePrincipal' | 'Group') = 'User'

@description('Optional. Let the certificate-rotation job renew the certificates of certificate and keyvault-key connections: the app\'s identity gets Key Vault Certificates Officer on the vaults that hold them (and keeps Key Vault Crypto User to sign with a non-exportable key). Default true; false leaves renewal to a person.')
param rotateCertificates bool = true

@description('Optional. Turn on the secret-rotation job (JOB_SECRET_ROTATION_ENABLED) for client-secret connections: the app\'s identity gets Key Vault Secrets Officer, instead of Secrets User, on the vaults that hold their secrets. addPassword also needs Graph Application.ReadWrite.OwnedBy with the app\'s service principal an owner of its registration, which this template does not grant. Default false: secrets are rotated by a person.')
param rotateSecrets bool = false

@description('Optional. Also create, with the Microsoft Graph Bicep extension (Bicep 0.36.1 or later), an app registration whose federated credential trusts the user-assigned identity. Public cloud (AzureCloud) only: the deployment fails elsewhere. Needs Graph permissions at deployment time (Application.ReadWrite.All, and AppRoleAssignment.ReadWrite.All for app roles).')
param deployGraphApp bool = false

@description('Optional. Microsoft Graph app roles to grant when deployGraphApp is true, to the user-assigned identity or to the app registration.')
param graphAppRoleAssignments graphAppRoleAssignmentType[]?

// ---------------------------------------------------------------------------------------------
// Names and derived values
// ---------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var baseName = toLower(environmentName)
var allTags = union(tags ?? {}, { 'azd-env-name': environmentName })
var siteName = functionAppName ?? 'func-${baseName}-${resourceToken}'
var deploymentContainerName = 'app-package'
// The Functions host keeps leases, timer status and keys in these containers.
var hostContainerNames = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]
var useNetworking = networking != null

// AzureCloud, AzureChinaCloud or AzureUSGovernment: the app derives its endpoints from it.
var cloudName = environment().name

// The Microsoft Graph Bicep extension deploys only to the public cloud
// (https://learn.microsoft.com/graph/templates/bicep/overview-bicep-templates-for-graph).
var graphAppRequested = deployGraphApp ? (cloudName == 'AzureCloud' ? true : fail('deployGraphApp: the Microsoft Graph Bicep extension deploys only to the public cloud (AzureCloud), and this deployment runs in ${cloudName}. Set DEPLOY_GRAPH_APP=false and create the app registration by hand (infra/README.md).')) : false

// A connection that cannot work is a deployment error, raised before anything is deployed (the
// loops below read validatedConnections, and a loop's array is computed at the start).
var connectionErrors = flatten(map(connections ?? [], c => concat(
  c.credential != 'managed-identity' && c.?clientId == null && !(c.credential == 'federated-identity' && deployGraphApp) ? ['${c.name} (${c.credential}) needs clientId${c.credential == 'federated-identity' ? ' (or DEPLOY_GRAPH_APP=true, whose app registration it then uses)' : ''}'] : [],
  c.credential == 'certificate' && c.?certificateName == null ? ['${c.name} (certificate) needs certificateName'] : [],
  c.credential == 'client-secret' && c.?secretName == null ? ['${c.name} (client-secret) needs secretName'] : [],
  c.credential == 'keyvault-key' && c.?keyName == null ? ['${c.name} (keyvault-key) needs keyName'] : [],
  c.?keyVaultResourceId != null && c.credential == 'managed-identity' ? ['${c.name} (managed-identity) reads no vault: remove keyVaultResourceId'] : []
)))
var connectionList = empty(connectionErrors) ? (connections ?? []) : fail('These connections cannot work: ${join(connectionErrors, '; ')}.')

// The Key Vault roles each kind of connection needs on the vault holding its objects: a
// certificate's private key and a client secret are read as secrets; a keyvault-key connection
// reads its certificate (the x5t of the assertion) and signs with its key. With rotation
// (rotateCertificates), the certificate-rotation job also creates new versions: Key Vault
// Certificates Officer, which reads certificates too, so a keyvault-key connection then needs no
// Key Vault Certificate User (https://learn.microsoft.com/azure/key-vault/general/rbac-guide).
// With rotateSecrets, the secret-rotation job writes new secret versions: Secrets Officer, which
// reads secrets too.
var secretRole = rotateSecrets ? 'Key Vault Secrets Officer' : 'Key Vault Secrets User'
var vaultRolesByCredential = rotateCertificates ? {
  'managed-identity': []
  'federated-identity': []
  certificate: [
    'Key Vault Secrets User'
    'Key Vault Certificates Officer'
  ]
  'client-secret': [
    secretRole
  ]
  'keyvault-key': [
    'Key Vault Crypto User'
    'Key Vault Certificates Officer'
  ]
} : {
  'managed-identity': []
  'federated-identity': []
  certificate: [
    'Key Vault Secrets User'
  ]
  'client-secret': [
    secretRole
  ]
  'keyvault-key': [
    'Key Vault Crypto User'
    'Key Vault Certificate User'
  ]
}

// What the deployer needs for the certificate bootstrap (python -m shared.certificates bootstrap):
// create the certificate, and sign an addKey proof (and the app's token request) with a
// certificate the app already has: its secret (exportable) or Key Vault's sign (keyvault-key).
var deployerVaultRolesByCredential = {
  'managed-identity': []
  'federated-identity': []
  certificate: [
    'Key Vault Certificates Officer'
    'Key Vault Secrets User'
  ]
  'client-secret': []
  'keyvault-key': [
    'Key Vault Certificates Officer'
    'Key Vault Crypto User'
  ]
}
var usesKeyVaultKey = length(filter(connectionList, c => c.credential == 'keyvault-key' && c.?keyVaultResourceId == null)) > 0
var usesCertificate = length(filter(connectionList, c => c.credential == 'certificate' && c.?keyVaultResourceId == null)) > 0
// The rotation job renews certificates kept in the app's vault.
var rotatesInAppVault = rotateCertificates && (usesCertificate || usesKeyVaultKey)
var usesSecret = length(filter(connectionList, c => c.credential == 'client-secret' && c.?keyVaultResourceId == null)) > 0
// The secret-rotation job writes versions of secrets kept in the app's vault.
var rotatesSecretsInAppVault = rotateSecrets && usesSecret

// Rich Graph notifications: a non-exportable encryption certificate decrypts in the vault.
var extraSettings = extraAppSettings ?? {}
var decryptsNotifications = contains(extraSettings, 'WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE')
var needsVaultKeys = usesKeyVaultKey || decryptsNotifications

// Flex Consumption rejects these settings (runtime, version and package are in functionAppConfig).
var flexForbiddenSettings = filter(objectKeys(extraSettings), k => contains(['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE'], k) || startsWith(k, 'WEBSITE_CONTENT'))
var checkedExtraSettings = empty(flexForbiddenSettings) ? extraSettings : fail('extraAppSettings: Flex Consumption does not accept ${join(flexForbiddenSettings, ', ')}.')
var otherVaultConnections = [
  for c in filter(connectionList, x => x.?keyVaultResourceId != null): {
    credential: c.credential
    subscriptionId: split(c.?keyVaultResourceId ?? '', '/')[2]
    resourceGroupName: split(c.?keyVaultResourceId ?? '', '/')[4]
    vaultName: last(split(c.?keyVaultResourceId ?? '', '/'))
  }
]

// ---------------------------------------------------------------------------------------------
// Identity, telemetry, storage, Key Vault
// ---------------------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${baseName}-${resourceToken}'
    location: location
    tags: allTags
  }
}

// Writes and reads the deployment package, and nothing else: the identity the code runs as has no
// role on the package's container, so a connection's token cannot rewrite the app.
module deploymentIdentity 'modules/identity.bicep' = {
  name: 'deploymentIdentity'
  params: {
    name: 'id-deploy-${baseName}-${resourceToken}'
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: 'log-${baseName}-${resourceToken}'
    applicationInsightsName: 'appi-${baseName}-${resourceToken}'
    location: location
    tags: allTags
    roleAssignments: [
      {
        roleDefinitionIdOrName: 'Monitoring Metrics Publisher'
        principalId: identity.outputs.principalId
      }
    ]
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName ?? 'st${resourceToken}'
    location: location
    tags: allTags
    deploymentContainerName: deploymentContainerName
    blobContainerNames: concat(hostContainerNames, dataContainerNames)
    queueNames: queueNames
    tableNames: tableNames
    workspaceResourceId: monitoring.outputs.workspaceResourceId
    publicNetworkAccess: useNetworking ? 'Disabled' : 'Enabled'
    // Queues and tables on the account: the host creates poison queues and its diagnostic tables,
    // the app its tables, on first use.
    roleAssignments: [
      {
        roleDefinitionIdOrName: 'Storage Queue Data Contributor'
        principalId: identity.outputs.principalId
      }
      {
        roleDefinitionIdOrName: 'Storage Table Data Contributor'
        principalId: identity.outputs.principalId
      }
    ]
    // Blobs container by container: the host's own (Storage Blob Data Owner, as the Functions docs
    // ask for host storage), the app's data, and the deployment package for the deployment identity.
    containerRoleAssignments: concat(
      map(hostContainerNames, name => {
        roleDefinitionIdOrName: 'Storage Blob Data Owner'
        principalId: identity.outputs.principalId
        containerName: name
      }),
      map(dataContainerNames, name => {
        roleDefinitionIdOrName: 'Storage Blob Data Contributor'
        principalId: identity.outputs.principalId
        containerName: name
      }),
      [
        {
          roleDefinitionIdOrName: 'Storage Blob Data Contributor'
          principalId: deploymentIdentity.outputs.principalId
          containerName: deploymentContainerName
        }
      ]
    )
  }
}

// The app reads certificates (through their secrets), client secrets and the webhook signing
// secrets (webhook-{source}), so Key Vault Secrets User is granted on the vault: a per-secret
// scope is not possible at deployment time, as those objects are imported afterwards. Key Vault
// Crypto User (sign or decrypt with a non-exportable key) and Key Vault Certificate User (read
// that key's certificate) only when a keyvault-key connection keeps its key in this vault, or
// WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE names the certificate of rich notifications.
var secretsUserAssignments = [
  {
    roleDefinitionIdOrName: 'Key Vault Secrets User'
    principalId: identity.outputs.principalId
  }
]

var cryptoUserAssignments = needsVaultKeys ? [
  {
    roleDefinitionIdOrName: 'Key Vault Crypto User'
    principalId: identity.outputs.principalId
  }
  {
    roleDefinitionIdOrName: 'Key Vault Certificate User'
    principalId: identity.outputs.principalId
  }
] : []

// The certificate-rotation job renews certificates in place: Key Vault Certificates Officer.
var rotationAssignments = rotatesInAppVault ? [
  {
    roleDefinitionIdOrName: 'Key Vault Certificates Officer'
    principalId: identity.outputs.principalId
  }
] : []

var secretRotationAssignments = rotatesSecretsInAppVault ? [
  {
    roleDefinitionIdOrName: 'Key Vault Secrets Officer'
    principalId: identity.outputs.principalId
  }
] : []

// The deployer imports or creates certificates, and the bootstrap signs with an existing one:
// Key Vault Secrets User to read an exportable certificate's key, Key Vault Crypto User to sign
// with a non-exportable one (only when such a connection keeps its key in this vault).
var deployerAssignments = deployerPrincipalId != null ? concat([
  {
    roleDefinitionIdOrName: 'Key Vault Certificates Officer'
    principalId: deployerPrincipalId!
    principalType: deployerPrincipalType
  }
], usesCertificate ? [
  {
    roleDefinitionIdOrName: 'Key Vault Secrets User'
    principalId: deployerPrincipalId!
    principalType: deployerPrincipalType
  }
] : [], usesKeyVaultKey ? [
  {
    roleDefinitionIdOrName: 'Key Vault Crypto User'
    principalId: deployerPrincipalId!
    principalType: deployerPrincipalType
  }
] : []) : []

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    name: keyVaultName ?? 'kv-${resourceToken}${toLower(keyVaultNameSalt)}'
    location: location
    tags: allTags
    workspaceResourceId: monitoring.outputs.workspaceResourceId
    publicNetworkAccess: keyVaultPublicNetworkAccess ?? (useNetworking ? 'Disabled' : 'Enabled')
    roleAssignments: concat(
      secretsUserAssignments,
      cryptoUserAssignments,
      rotationAssignments,
      secretRotationAssignments,
      deployerAssignments
    )
  }
}

module privateEndpoints 'modules/private-endpoints.bicep' = if (useNetworking) {
  name: 'privateEndpoints'
  params: {
    location: location
    tags: allTags
    subnetResourceId: networking.?privateEndpointSubnetResourceId ?? ''
    endpoints: [
      {
        name: 'pe-${storage.outputs.name}-blob'
        privateLinkServiceId: storage.outputs.resourceId
        groupId: 'blob'
        privateDnsZoneResourceId: networking.?blobPrivateDnsZoneResourceId ?? ''
      }
      {
        name: 'pe-${storage.outputs.name}-queue'
        privateLinkServiceId: storage.outputs.resourceId
        groupId: 'queue'
        privateDnsZoneResourceId: networking.?queuePrivateDnsZoneResourceId ?? ''
      }
      {
        name: 'pe-${storage.outputs.name}-table'
        privateLinkServiceId: storage.outputs.resourceId
        groupId: 'table'
        privateDnsZoneResourceId: networking.?tablePrivateDnsZoneResourceId ?? ''
      }
      {
        name: 'pe-${keyVault.outputs.name}-vault'
        privateLinkServiceId: keyVault.outputs.resourceId
        groupId: 'vault'
        privateDnsZoneResourceId: networking.?vaultPrivateDnsZoneResourceId ?? ''
      }
    ]
  }
}

// A connection whose objects sit in another vault: the roles it needs, on that vault.
module connectionVaultAccess 'modules/vault-access.bicep' = [
  for (c, i) in otherVaultConnections: {
    name: 'vaultAccess-${resourceToken}-${i}'
    scope: resourceGroup(c.subscriptionId, c.resourceGroupName)
    params: {
      vaultName: c.vaultName
      principalId: identity.outputs.principalId
      roleNames: vaultRolesByCredential[c.credential]
      deployerPrincipalId: deployerPrincipalId ?? ''
      deployerPrincipalType: deployerPrincipalType
      deployerRoleNames: deployerVaultRolesByCredential[c.credential]
    }
  }
]

// ---------------------------------------------------------------------------------------------
// Optional: app registration trusting the identity (Microsoft Graph Bicep extension)
// ---------------------------------------------------------------------------------------------

module graphApp 'modules/graph-app.bicep' = if (graphAppRequested) {
  name: 'graphApp'
  params: {
    uniqueName: 'entra-automation-${baseName}-${resourceToken}'
    displayName: 'Entra automation (${environmentName})'
    managedIdentityPrincipalId: identity.outputs.principalId
    appRoleAssignments: graphAppRoleAssignments ?? []
  }
}

// ---------------------------------------------------------------------------------------------
// App settings: exactly what the code reads (tests/test_infra.py checks both directions)
// ---------------------------------------------------------------------------------------------

// The connections' settings come from a module: their defaults are other modules' outputs, and a
// variable loop must be computable at the start of the deployment, which a module's parameters are.
module connectionSettings 'modules/connection-settings.bicep' = {
  name: 'connectionSettings'
  params: {
    connections: connectionList
    tenantId: tenant().tenantId
    managedIdentityClientId: identity.outputs.clientId
    federatedClientId: graphAppRequested ? graphApp!.outputs.applicationClientId : null
  }
}

var appSettings = union(checkedExtraSettings, {
  // Host storage through the user-assigned identity: no connection string, no key.
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // Telemetry with Entra authentication (local auth is disabled on the component).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  // What the app's code reads.
  AZURE_CLIENT_ID: identity.outputs.clientId
  AZURE_CLOUD: cloudName
  KEY_VAULT_URL: keyVault.outputs.uri
  // Opt-in (docs/contract.md, "Secret rotation"); the vault roles above follow the same parameter.
  JOB_SECRET_ROTATION_ENABLED: rotateSecrets ? 'true' : 'false'
}, connectionSettings.outputs.settings)

module functionApp 'modules/function-app.bicep' = {
  name: 'functionApp'
  params: {
    name: siteName
    planName: 'plan-${baseName}-${resourceToken}'
    location: location
    tags: union(allTags, { 'azd-service-name': 'api' })
    userAssignedIdentityResourceId: identity.outputs.resourceId
    deploymentIdentityResourceId: deploymentIdentity.outputs.resourceId
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appSettings: appSettings
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReady: alwaysReady ?? []
    zoneRedundant: zoneRedundant
    virtualNetworkSubnetResourceId: networking.?appSubnetResourceId ?? ''
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (no secret, no key, no connection string)
// ---------------------------------------------------------------------------------------------

@description('The name of the Function App.')
output functionAppName string = functionApp.outputs.name

@description('The resource id of the Function App.')
output functionAppResourceId string = functionApp.outputs.resourceId

@description('The base URL of the app\'s HTTP API.')
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}/api'

@description('The name of the Key Vault: import the certificate of a certificate connection here.')
output keyVaultName string = keyVault.outputs.name

@description('The URI of the Key Vault (KEY_VAULT_URL).')
output keyVaultUri string = keyVault.outputs.uri

@description('The name of the storage account.')
output storageAccountName string = storage.outputs.name

@description('The client id of the user-assigned identity (AZURE_CLIENT_ID).')
output userAssignedIdentityClientId string = identity.outputs.clientId

@description('The object (principal) id of the user-assigned identity: grant it Microsoft Graph app roles when the Graph module is not used.')
output userAssignedIdentityPrincipalId string = identity.outputs.principalId

@description('What the certificate bootstrap (the azd postprovision hook, python -m shared.certificates bootstrap) reads on the deployer\'s machine: KEY_VAULT_URL, AZURE_CLOUD and the CONNECTIONS__<NAME>__* settings; ids and names of Key Vault objects only, never their values. azd keeps it as BOOTSTRAPSETTINGS.')
output bootstrapSettings object = union({
  KEY_VAULT_URL: keyVault.outputs.uri
  AZURE_CLOUD: cloudName
}, connectionSettings.outputs.settings)

@description('The client id of the app registration of the Graph module, when deployGraphApp is true.')
output graphApplicationClientId string? = graphAppRequested ? graphApp!.outputs.applicationClientId : null
