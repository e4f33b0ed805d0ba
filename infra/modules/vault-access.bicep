metadata name = 'Roles on an existing Key Vault'
metadata description = 'Grants an identity the Key Vault roles a connection needs on a vault of its own (deployed to that vault\'s resource group).'

@description('Required. Name of the existing Key Vault (in the resource group this module is deployed to).')
param vaultName string

@description('Required. Object (principal) id of the identity that reads the vault.')
param principalId string

@description('Required. Names of builtInRoleNames to grant on the vault.')
param roleNames array

var builtInRoleNames = {
  'Key Vault Secrets User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
  'Key Vault Crypto User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')
  'Key Vault Certificate User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba')
}

var formattedRoleAssignments = [
  for roleName in roleNames: {
    roleDefinitionId: builtInRoleNames[roleName]
    principalId: principalId
  }
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
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

@description('The URI of the vault (CONNECTIONS__<NAME>__KEY_VAULT_URL).')
output uri string = vault.properties.vaultUri
