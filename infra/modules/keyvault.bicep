metadata name = 'Key Vault'
metadata description = 'Holds the certificates, secrets and keys of the connections and the webhook signing secrets; Azure RBAC only, soft delete and purge protection on; audit events go to Log Analytics.'

@description('Required. Name of the Key Vault (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region.')
param location string

@description('Required. Tags applied to the vault.')
param tags object

@description('Required. Resource id of the Log Analytics workspace that receives the vault\'s audit events (every read, write and denied request).')
param workspaceResourceId string

@description('Optional. Whether the vault is reachable from public networks (still with Entra authentication and RBAC). Set Disabled together with a private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Optional. Days a deleted vault or object can be recovered.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Optional. Role assignments on the vault, as data: items { roleDefinitionIdOrName (a name of builtInRoleNames, a GUID or a role definition resource id), principalId, principalType? (default ServicePrincipal) }.')
param roleAssignments array = []

var builtInRoleNames = {
  'Key Vault Secrets User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
  'Key Vault Crypto User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')
  'Key Vault Certificate User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba')
  'Key Vault Certificates Officer': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'a4417e6f-fecd-4de8-b567-7b0420556985')
  'Key Vault Secrets Officer': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
}

var formattedRoleAssignments = [
  for ra in roleAssignments: union(ra, {
    roleDefinitionId: builtInRoleNames[?ra.roleDefinitionIdOrName] ?? (contains(ra.roleDefinitionIdOrName, '/providers/Microsoft.Authorization/roleDefinitions/') ? ra.roleDefinitionIdOrName : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ra.roleDefinitionIdOrName))
  })
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: the firewall denies by default when publicNetworkAccess is Disabled (with a private endpoint); without virtual network integration the app reaches the vault over its public endpoint, with Entra authentication and Azure RBAC.
  // checkov:skip=CKV_AZURE_189: public network access is the publicNetworkAccess parameter (see CKV_AZURE_109).
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'
    }
  }
}

resource vaultRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for ra in formattedRoleAssignments: {
    name: guid(vault.id, ra.principalId, ra.roleDefinitionId)
    scope: vault
    properties: {
      roleDefinitionId: ra.roleDefinitionId
      principalId: ra.principalId
      principalType: ra.?principalType ?? 'ServicePrincipal'
    }
  }
]

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-workspace'
  scope: vault
  properties: {
    workspaceId: workspaceResourceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

@description('The name of the vault.')
output name string = vault.name

@description('The resource id of the vault.')
output resourceId string = vault.id

@description('The vault URI (KEY_VAULT_URL), as the vault reports it in this cloud.')
output uri string = vault.properties.vaultUri
