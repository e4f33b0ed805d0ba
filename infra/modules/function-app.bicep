metadata name = 'Function App on the Flex Consumption plan'
metadata description = 'Linux, Python 3.11; the app runs as one user-assigned identity and the deployment package is reached with another (only that one may write it); HTTPS only, FTPS off, TLS 1.2.'

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

@description('Required. Resource id of the user-assigned managed identity that writes and reads the deployment package (the only identity with a role on its container).')
param deploymentIdentityResourceId string

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

@description('Optional. Maximum number of instances the app scales out to (Flex Consumption: 40 to 1000).')
@minValue(40)
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

// A `for` needs a value known at the start of the deployment (Bicep BCP178): the loop runs over
// the parameter only, and the connection string, known once the component is read, is appended.
var appSettingsList = [
  for setting in items(appSettings): {
    name: setting.key
    value: setting.value
  }
]

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
  // checkov:skip=CKV_AZURE_17: callers authenticate with function keys, Entra bearer tokens or webhook signatures; Microsoft Graph and Event Grid cannot present client certificates.
  // checkov:skip=CKV_AZURE_212: numberOfWorkers does not apply to Flex Consumption, which scales per function (maximumInstanceCount, alwaysReady).
  // checkov:skip=CKV_AZURE_213: the App Service health check replaces unhealthy instances of dedicated plans; Flex Consumption manages its own instances, and /api/health stays for external probes.
  // checkov:skip=CKV_AZURE_222: Microsoft Graph change notifications, Event Grid and signed webhooks must reach the app from the internet; every route except /api/health requires a key, a token or a signature.
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    // No system-assigned identity: nothing would use it.
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${userAssignedIdentityResourceId}': {}
      '${deploymentIdentityResourceId}': {}
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
      // Where to send telemetry; publishing needs an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
      appSettings: concat(appSettingsList, [
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsights.properties.ConnectionString
        }
      ])
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: deploymentIdentityResourceId
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
