metadata name = 'Storage account'
metadata description = 'Host storage and deployment package of the Function App, and the queues, tables and blob containers the app uses; reached only with Entra identities (shared keys off); read, write and delete logs go to Log Analytics.'

@description('Required. Name of the storage account (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region.')
param location string

@description('Required. Tags applied to the account.')
param tags object

@description('Required. Name of the blob container that holds the Function App deployment package.')
param deploymentContainerName string

@description('Required. Names of the blob containers to create besides the deployment one: the Functions host\'s (azure-webjobs-hosts, azure-webjobs-secrets) and the app\'s data containers. Container-scoped role assignments name them.')
param blobContainerNames array

@description('Required. Resource id of the Log Analytics workspace that receives the blob, queue and table read, write and delete logs.')
param workspaceResourceId string

@description('Required. Names of the queues the app uses.')
param queueNames array

@description('Required. Names of the tables the app uses.')
param tableNames array

@description('Optional. Replication of the account. Zone-redundant by default.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param skuName string = 'Standard_ZRS'

@description('Optional. Whether the account is reachable from public networks (still with Entra authentication only). Set Disabled together with private endpoints.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Optional. Role assignments on the account, as data: items { roleDefinitionIdOrName (a name of builtInRoleNames, a GUID or a role definition resource id), principalId, principalType? (default ServicePrincipal) }.')
param roleAssignments array = []

@description('Optional. Role assignments on single blob containers, as data: the items of roleAssignments plus containerName (the deployment container or one of blobContainerNames).')
param containerRoleAssignments array = []

var builtInRoleNames = {
  'Storage Blob Data Owner': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  'Storage Blob Data Contributor': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  'Storage Queue Data Contributor': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  'Storage Table Data Contributor': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
}

var formattedRoleAssignments = [
  for ra in roleAssignments: union(ra, {
    roleDefinitionId: builtInRoleNames[?ra.roleDefinitionIdOrName] ?? (contains(ra.roleDefinitionIdOrName, '/providers/Microsoft.Authorization/roleDefinitions/') ? ra.roleDefinitionIdOrName : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ra.roleDefinitionIdOrName))
  })
]

// Container-scoped roles name their container by its index among the containers created here.
var containerNames = concat([deploymentContainerName], blobContainerNames)
var formattedContainerRoleAssignments = [
  for ra in containerRoleAssignments: union(ra, {
    roleDefinitionId: builtInRoleNames[?ra.roleDefinitionIdOrName] ?? (contains(ra.roleDefinitionIdOrName, '/providers/Microsoft.Authorization/roleDefinitions/') ? ra.roleDefinitionIdOrName : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ra.roleDefinitionIdOrName))
    containerIndex: indexOf(containerNames, ra.containerName)
  })
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the default action is Deny when publicNetworkAccess is Disabled (with private endpoints); without virtual network integration the Flex Consumption host reaches the account over its public endpoint, with Entra authentication only (shared keys are off).
  // checkov:skip=CKV_AZURE_59: public network access is the publicNetworkAccess parameter, Enabled only for deployments without virtual network integration (see CKV_AZURE_35); anonymous blob access is off either way.
  // checkov:skip=CKV_AZURE_206: zone-redundant (Standard_ZRS) by default; geo-replication is an opt-in through skuName, as the account holds only reproducible state (package, queues, run records).
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for ra in formattedRoleAssignments: {
    name: guid(storageAccount.id, ra.principalId, ra.roleDefinitionId)
    scope: storageAccount
    properties: {
      roleDefinitionId: ra.roleDefinitionId
      principalId: ra.principalId
      principalType: ra.?principalType ?? 'ServicePrincipal'
    }
  }
]

resource containerScopedRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for ra in formattedContainerRoleAssignments: {
    name: guid(containers[ra.containerIndex].id, ra.principalId, ra.roleDefinitionId)
    scope: containers[ra.containerIndex]
    properties: {
      roleDefinitionId: ra.roleDefinitionId
      principalId: ra.principalId
      principalType: ra.?principalType ?? 'ServicePrincipal'
    }
  }
]

// Who read, wrote or deleted what, in each service, goes to the workspace.
var storageLogs = [
  {
    category: 'StorageRead'
    enabled: true
  }
  {
    category: 'StorageWrite'
    enabled: true
  }
  {
    category: 'StorageDelete'
    enabled: true
  }
]

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: blobService
  properties: {
    workspaceId: workspaceResourceId
    logs: storageLogs
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: queueService
  properties: {
    workspaceId: workspaceResourceId
    logs: storageLogs
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: tableService
  properties: {
    workspaceId: workspaceResourceId
    logs: storageLogs
  }
}

@description('The name of the storage account.')
output name string = storageAccount.name

@description('The resource id of the storage account.')
output resourceId string = storageAccount.id

@description('The blob endpoint of the account, from the account itself (right in every cloud).')
output blobEndpoint string = storageAccount.properties.primaryEndpoints.blob

@description('The queue endpoint of the account.')
output queueEndpoint string = storageAccount.properties.primaryEndpoints.queue

@description('The table endpoint of the account.')
output tableEndpoint string = storageAccount.properties.primaryEndpoints.table

@description('The blob container URL of the deployment package.')
output deploymentContainerUrl string = '${storageAccount.properties.primaryEndpoints.blob}${containers[0].name}'
