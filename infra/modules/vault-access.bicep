metadata name = 'Roles on an existing Key Vault'
metadata description = 'Grants an identity the Key Vault roles a connection needs on a vault of its own, and the deployer what the certificate bootstrap needs there (deployed to that vault\'s resource group).'

@description('Required. Name of the existing Key Vault (in the resource group this module is deployed to).')
param vaultName string

@description('Required. Object (principal) id of the identity that reads the vault.')
param principalId string

@description('Required. Names of builtInRoleNames to grant on the vault.')
param roleNames array

// Plain string types here, not `string?` or a union: checkov's Bicep parser reads neither, and
// this module has a resource for checkov to check.
@description('Optional. Object (principal) id of whoever deploys: gets deployerRoleNames on the vault (the certificate bootstrap creates certificates there). Empty: no deployer grant.')
param deployerPrincipalId string = ''

@description('Optional. Type of the deployer\'s principal.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

@description('Optional. Names of builtInRoleNames to grant the deployer on the vault.')
param deployerRoleNames array = []

var builtInRoleNames = {
  'Key Vault Secrets User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
  'Key Vault Crypto User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')
  'Key Vault Certificate User': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba')
  'Key Vault Certificates Officer': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'a4417e6f-fecd-4de8-b567-7b0420556985')
  'Key Vault Secrets Officer': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
}

var identityRoleAssignments = [
  for roleName in roleNames: {
    roleDefinitionId: builtInRoleNames[roleName]
    principalId: principalId
  }
]

var deployerRoleAssignments = [
  for roleName in (empty(deployerPrincipalId) ? [] : deployerRoleNames): {
    roleDefinitionId: builtInRoleNames[roleName]
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
]

var formattedRoleAssignments = concat(identityRoleAssignments, deployerRoleAssignments)

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
