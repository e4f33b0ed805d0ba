metadata name = 'Private endpoints'
metadata description = 'Private endpoints of the storage account (blob, queue, table) and the Key Vault, with optional private DNS zone groups.'

@description('Required. Azure region.')
param location string

@description('Required. Tags applied to the endpoints.')
param tags object

@description('Required. Resource id of the subnet that holds the endpoints.')
param subnetResourceId string

@description('Required. The endpoints, as data: items { name, privateLinkServiceId (resource id of the storage account or vault), groupId (blob, queue, table or vault), privateDnsZoneResourceId (empty for none) }.')
param endpoints array

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [
  for endpoint in endpoints: {
    name: endpoint.name
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnetResourceId
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.name
          properties: {
            privateLinkServiceId: endpoint.privateLinkServiceId
            groupIds: [
              endpoint.groupId
            ]
          }
        }
      ]
    }
  }
]

resource dnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [
  for (endpoint, i) in endpoints: if (!empty(endpoint.privateDnsZoneResourceId)) {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.groupId
          properties: {
            privateDnsZoneId: endpoint.privateDnsZoneResourceId
          }
        }
      ]
    }
  }
]

@description('The resource ids of the private endpoints.')
output resourceIds array = [for (endpoint, i) in endpoints: privateEndpoints[i].id]
