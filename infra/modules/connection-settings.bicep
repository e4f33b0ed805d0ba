metadata name = 'Connection settings'
metadata description = 'Turns the typed connections into CONNECTIONS__<NAME>__* app settings. Deploys no resource.'

// No resource here, so checkov has nothing to check; its parser cannot read the import and the
// lambdas, so this file is skipped by checkov and checked by tree-sitter-bicep and tests/test_infra.py.
import { connectionType } from '../types.bicep'

@description('Required. The named connections.')
param connections connectionType[]

@description('Required. Tenant id that connections sign in to unless they name another.')
param tenantId string

@description('Required. Client id of the user-assigned identity: the client id of managed-identity connections that name none.')
param managedIdentityClientId string

@description('Optional. Client id of the app registration of the Graph module: the client id of federated-identity connections that name none.')
param federatedClientId string?

var connectionClientIds = [
  for c in connections: c.?clientId ?? (c.credential == 'managed-identity' ? managedIdentityClientId : (c.credential == 'federated-identity' ? federatedClientId : null))
]

// One object of settings per connection; a field is set only when it has a value.
var connectionSettingObjects = [
  for (c, i) in connections: reduce([
    {
      'CONNECTIONS__${toUpper(c.name)}__CREDENTIAL': c.credential
      'CONNECTIONS__${toUpper(c.name)}__TENANT_ID': c.?tenantId ?? tenantId
    }
    connectionClientIds[i] != null ? { 'CONNECTIONS__${toUpper(c.name)}__CLIENT_ID': connectionClientIds[i] } : {}
    c.?certificateName != null ? { 'CONNECTIONS__${toUpper(c.name)}__CERTIFICATE': c.?certificateName } : {}
    c.?secretName != null ? { 'CONNECTIONS__${toUpper(c.name)}__SECRET': c.?secretName } : {}
    c.?keyName != null ? { 'CONNECTIONS__${toUpper(c.name)}__KEY': c.?keyName } : {}
    c.credential == 'certificate' ? { 'CONNECTIONS__${toUpper(c.name)}__SEND_CERTIFICATE_CHAIN': (c.?sendCertificateChain ?? false) ? 'true' : 'false' } : {}
    c.?managedIdentityClientId != null ? { 'CONNECTIONS__${toUpper(c.name)}__MANAGED_IDENTITY_CLIENT_ID': c.?managedIdentityClientId } : {}
    c.?keyVaultResourceId != null ? { 'CONNECTIONS__${toUpper(c.name)}__KEY_VAULT_URL': 'https://${last(split(c.?keyVaultResourceId ?? '', '/'))}${environment().suffixes.keyvaultDns}/' } : {}
  ], {}, (all, one) => union(all, one))
]

@description('The CONNECTIONS__<NAME>__* app settings, as an object of name to value: names of Key Vault objects, never their values.')
output settings object = reduce(connectionSettingObjects, {}, (all, one) => union(all, one))
