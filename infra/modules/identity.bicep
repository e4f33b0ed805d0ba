metadata name = 'User-assigned managed identity'
metadata description = 'The identity the app runs as: host storage, Key Vault, Application Insights and every managed-identity or federated connection.'

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Required. Azure region.')
param location string

@description('Required. Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('The name of the identity.')
output name string = identity.name

@description('The resource id of the identity.')
output resourceId string = identity.id

@description('The client id of the identity (AZURE_CLIENT_ID).')
output clientId string = identity.properties.clientId

@description('The object (principal) id of the identity: the subject of its federated credentials and the principal of its role assignments.')
output principalId string = identity.properties.principalId
