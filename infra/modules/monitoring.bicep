metadata name = 'Log Analytics and Application Insights'
metadata description = 'Telemetry with local (instrumentation key) authentication disabled: the app publishes with its Entra identity.'

@description('Required. Name of the Log Analytics workspace.')
param workspaceName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Azure region.')
param location string

@description('Required. Tags applied to both resources.')
param tags object

@description('Optional. Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Optional. Role assignments on the Application Insights component, as data: items { roleDefinitionIdOrName (a name of builtInRoleNames, a GUID or a role definition resource id), principalId, principalType? (default ServicePrincipal) }.')
param roleAssignments array = []

var builtInRoleNames = {
  'Monitoring Metrics Publisher': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
}

var formattedRoleAssignments = [
  for ra in roleAssignments: union(ra, {
    roleDefinitionId: builtInRoleNames[?ra.roleDefinitionIdOrName] ?? (contains(ra.roleDefinitionIdOrName, '/providers/Microsoft.Authorization/roleDefinitions/') ? ra.roleDefinitionIdOrName : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ra.roleDefinitionIdOrName))
  })
]

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource applicationInsightsRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for ra in formattedRoleAssignments: {
    name: guid(applicationInsights.id, ra.principalId, ra.roleDefinitionId)
    scope: applicationInsights
    properties: {
      roleDefinitionId: ra.roleDefinitionId
      principalId: ra.principalId
      principalType: ra.?principalType ?? 'ServicePrincipal'
    }
  }
]

@description('The name of the Application Insights component.')
output applicationInsightsName string = applicationInsights.name

@description('The resource id of the Application Insights component.')
output applicationInsightsResourceId string = applicationInsights.id

@description('The resource id of the Log Analytics workspace.')
output workspaceResourceId string = workspace.id
