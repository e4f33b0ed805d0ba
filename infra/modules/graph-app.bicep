metadata name = 'Entra app registration trusting the user-assigned identity'
metadata description = 'Optional. An app registration whose federated credential trusts the user-assigned identity (no certificate, no secret), its service principal, and Microsoft Graph app role assignments.'

// The Microsoft Graph Bicep extension (infra/bicepconfig.json). checkov's Bicep parser cannot
// read `extension` or `import`, so this file is skipped by checkov (Makefile, tests/test_infra.py)
// and checked by tree-sitter-bicep and tests/test_infra.py instead. It holds Microsoft.Graph
// resources only, for which checkov has no checks.
extension microsoftGraphV1

import { graphAppRoleAssignmentType } from '../types.bicep'

@description('Required. Unique name (uniqueName) of the app registration: the key that makes redeployments idempotent.')
param uniqueName string

@description('Required. Display name of the app registration.')
param displayName string

@description('Required. Object (principal) id of the user-assigned identity that the federated credential trusts.')
param managedIdentityPrincipalId string

@description('Optional. Microsoft Graph app roles to grant to the user-assigned identity or to the app registration.')
param appRoleAssignments graphAppRoleAssignmentType[] = []

// The audience of the token exchange differs per cloud; the issuer comes from the cloud's login endpoint.
var tokenExchangeAudiences = {
  AzureCloud: 'api://AzureADTokenExchange'
  AzureUSGovernment: 'api://AzureADTokenExchangeUSGov'
  AzureChinaCloud: 'api://AzureADTokenExchangeChina'
}

var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'

  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${uniqueName}/user-assigned-identity'
    description: 'The Function App\'s user-assigned managed identity signs in as this app, with no certificate or secret.'
    issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    subject: managedIdentityPrincipalId
    audiences: [
      tokenExchangeAudiences[?environment().name] ?? tokenExchangeAudiences.AzureCloud
    ]
  }
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
}

resource microsoftGraph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: microsoftGraphAppId
}

resource graphAppRoleAssignments 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for assignment in appRoleAssignments: {
    resourceId: microsoftGraph.id
    appRoleId: filter(microsoftGraph.appRoles, role => role.value == assignment.appRole)[0].id
    principalId: assignment.principal == 'application' ? servicePrincipal.id : managedIdentityPrincipalId
  }
]

@description('The client (application) id of the app registration: CONNECTIONS__<NAME>__CLIENT_ID of a federated-identity connection.')
output applicationClientId string = application.appId

@description('The object id of the app registration.')
output applicationObjectId string = application.id

@description('The object (principal) id of the app\'s service principal.')
output servicePrincipalId string = servicePrincipal.id
