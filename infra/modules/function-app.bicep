metadata name = 'Function App on the Flex Consumption plan'
metadata description = 'Linux, Python 3.11; the deployment package sits in a blob container reached with the user-assigned identity; HTTPS only, FTPS off, TLS 1.2.'

@description('Required. Name of the Function App.')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Required. Azure region.')
param location string

@description('Required. Tags applied to the plan and the app (main.bicep adds azd-service-name to the app).')
param tags object

@description('Required. Resource id of the user-assigned managed identity the app runs as.')
param userAssignedIdentityResourceId string

@description('Required. Blob container URL of the deployment package.')
param deploymentContainerUrl string

@description('Required. Name of the Application Insights component; its connection string is added to the app settings here, so that it never passes through an output.')
param applicationInsightsName string

@description('Required. App settings, as an object of name to value. No secret belongs here: secrets stay in Key Vault.')
param appSettings object

@description('Optional. Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Maximum number of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Always-ready instances, as data: items { name ("http" or "function:<function name>"), instanceCount }. None by default (scale to zero).')
param alwaysReady array = []

@description('Optional. Spread the plan\'s instances across availability zones (only in regions that offer it for Flex Consumption).')
param zoneRedundant bool = false

@description('Optional. Resource id of the subnet the app integrates with (delegated to Microsoft.App/environments). Empty for no virtual network integration (a plain string so that checkov can parse this module).')
param virtualNetworkSubnetResourceId string = ''

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var allAppSettings = union(appSettings, {
  // Where to send telemetry; publishing needs an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
})

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy of a Flex Consumption plan is offered only in some regions; opt in with the zoneRedundant parameter.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_16: the app has both a system-assigned and a user-assigned identity ('SystemAssigned, UserAssigned'); the check only recognises a single type.
  // checkov:skip=CKV_AZURE_17: callers authenticate with function keys, Entra bearer tokens or webhook signatures; Microsoft Graph and Event Grid cannot present client certificates.
  // checkov:skip=CKV_AZURE_212: numberOfWorkers does not apply to Flex Consumption, which scales per function (maximumInstanceCount, alwaysReady).
  // checkov:skip=CKV_AZURE_213: the App Service health check replaces unhealthy instances of dedicated plans; Flex Consumption manages its own instances, and /api/health stays for external probes.
  // checkov:skip=CKV_AZURE_222: Microsoft Graph change notifications, Event Grid and signed webhooks must reach the app from the internet; every route except /api/health requires a key, a token or a signature.
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned, UserAssigned'
    userAssignedIdentities: {
      '${userAssignedIdentityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    virtualNetworkSubnetId: empty(virtualNetworkSubnetResourceId) ? null : virtualNetworkSubnetResourceId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(allAppSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: userAssignedIdentityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource basicPublishingFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource basicPublishingScm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('The name of the Function App.')
output name string = site.name

@description('The resource id of the Function App.')
output resourceId string = site.id

@description('The default host name of the Function App.')
output defaultHostName string = site.properties.defaultHostName

@description('The object (principal) id of the system-assigned identity (enabled, holds no role).')
output systemAssignedPrincipalId string = site.identity.principalId
