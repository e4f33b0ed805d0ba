metadata name = 'Shared types'
metadata description = 'User-defined types of the deployment parameters, imported by main.bicep and the Graph module.'

// Kept in their own file: checkov's Bicep parser cannot read decorated user-defined types, so
// this file is checked by tree-sitter-bicep and tests/test_infra.py instead (see infra/README.md).

@export()
@description('The kinds of credential a named connection can use; the app reads it from CONNECTIONS__<NAME>__CREDENTIAL.')
type credentialKindType = 'managed-identity' | 'certificate' | 'client-secret' | 'federated-identity' | 'keyvault-key'

@export()
@description('A named connection the app uses to get tokens; each becomes CONNECTIONS__<NAME>__* app settings.')
type connectionType = {
  @description('Required. Name of the connection: letters, digits and underscores; upper-cased in the setting names (CONNECTIONS__<NAME>__...).')
  @minLength(1)
  @maxLength(64)
  name: string

  @description('Required. How the connection gets its tokens.')
  credential: credentialKindType

  @description('Optional. Tenant id (GUID) the connection signs in to. Defaults to the tenant of the deployment.')
  tenantId: string?

  @description('Optional. Client (application) id of the app registration. Defaults to the user-assigned identity for managed-identity, and to the app registration of the Graph module for federated-identity.')
  clientId: string?

  @description('Optional. Name of the Key Vault certificate whose private key signs the client assertion (credential certificate; the certificate registered on the app for keyvault-key).')
  certificateName: string?

  @description('Optional. Name of the Key Vault secret that holds the client secret (credential client-secret).')
  secretName: string?

  @description('Optional. Name of the non-exportable Key Vault key that signs the client assertion (credential keyvault-key).')
  keyName: string?

  @description('Optional. Send the certificate chain (x5c) with the assertion, for subject name and issuer authentication (credential certificate). Default false.')
  sendCertificateChain: bool?

  @description('Optional. Client id of the managed identity the connection uses to reach Key Vault or as its federated assertion. Defaults to the app\'s (AZURE_CLIENT_ID).')
  managedIdentityClientId: string?

  @description('Optional. Resource id of another Key Vault that holds this connection\'s certificate, secret or key (any subscription or resource group of the tenant). The app\'s identity gets the roles the connection needs on it, and CONNECTIONS__<NAME>__KEY_VAULT_URL points to it. Defaults to the app\'s vault (KEY_VAULT_URL).')
  keyVaultResourceId: string?
}

@export()
@description('An always-ready instance group of the Flex Consumption plan.')
type alwaysReadyType = {
  @description('Required. The group: "http" (every HTTP trigger), or "function:<function name>" for one function, such as a webhook.')
  name: string

  @description('Required. Number of instances kept ready.')
  @minValue(1)
  @maxValue(100)
  instanceCount: int
}

@export()
@description('Optional virtual network integration of the Function App with private endpoints for storage and Key Vault.')
type networkingType = {
  @description('Required. Resource id of the subnet the Function App integrates with (delegated to Microsoft.App/environments).')
  appSubnetResourceId: string

  @description('Required. Resource id of the subnet that holds the private endpoints of the storage account and the Key Vault.')
  privateEndpointSubnetResourceId: string

  @description('Optional. Resource id of the privatelink DNS zone for blob storage; without it, register the private endpoints in your DNS yourself.')
  blobPrivateDnsZoneResourceId: string?

  @description('Optional. Resource id of the privatelink DNS zone for queue storage.')
  queuePrivateDnsZoneResourceId: string?

  @description('Optional. Resource id of the privatelink DNS zone for table storage.')
  tablePrivateDnsZoneResourceId: string?

  @description('Optional. Resource id of the privatelink DNS zone for Key Vault.')
  vaultPrivateDnsZoneResourceId: string?
}

@export()
@description('A Microsoft Graph application permission (app role) to grant.')
type graphAppRoleAssignmentType = {
  @description('Required. Who gets the role: "managedIdentity" (the user-assigned identity) or "application" (the app registration of the Graph module).')
  principal: 'managedIdentity' | 'application'

  @description('Required. The value of the Microsoft Graph app role, such as "User.Read.All".')
  appRole: string
}
