"""The Bicep in infra/ deploys the app secretless and least-privilege, and sets exactly what the code reads.

Three layers, as no Bicep CLI can be installed here:

- checkov (its own virtual environment, `.venv-checkov`, made by `make infra-check`) runs its Bicep
  checks over infra/. Its parser (pycep) cannot read the newer syntax used by main.bicep, types.bicep,
  modules/graph-app.bicep and modules/connection-settings.bicep (import, extension, nullable and
  user-defined types, lambdas): checkov would report them as parsing errors and exit 0 having checked
  nothing there. Those files are skipped by path (CHECKOV_SKIPPED); they declare no Azure resource
  (a test keeps it so), so every Azure resource sits in a file checkov checks. Any other parsing
  error fails.
- tree-sitter-bicep parses every .bicep file (and main.bicepparam) without ERROR or MISSING nodes,
  and the compiler rules that a syntax tree decides are checked in test_bicep_compiler.py.
- The rest is read from the syntax tree or the text: descriptions, types, roles, settings (the
  settings the code may read without the Bicep setting them are listed in app_settings.py).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tree_sitter import Node

from tests.infra.app_settings import (
    CONNECTION_FIELDS,
    CONNECTION_FIELDS_NOT_SET_BY_BICEP,
    CONTRACT_SETTINGS,
    HOST_SETTINGS,
    PLATFORM_PREFIXES,
    SETTING_NAME,
    not_set_by_bicep,
)
from tests.infra.support import (
    EXTENSION_STATEMENT,
    INFRA,
    ROOT,
    bicep_files,
    parse,
    rel,
    syntax_problems,
    text,
    tree,
)

pytestmark = pytest.mark.infra

CHECKOV = Path(os.environ.get("CHECKOV_BIN", ROOT / ".venv-checkov" / "bin" / "checkov"))

# Files checkov's Bicep parser cannot read, with the syntax that stops it.
CHECKOV_SKIPPED = {
    "main.bicep": "import, nullable and user-defined parameter types, lambdas",
    "types.bicep": "@export() user-defined types with decorated fields",
    "modules/graph-app.bicep": "the `extension microsoftGraphV1` statement and import",
    "modules/connection-settings.bicep": "import, user-defined parameter types, lambdas",
}

# Role definition ids, checked against Microsoft's built-in roles list.
BUILT_IN_ROLES = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Certificate User": "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
    "Key Vault Certificates Officer": "a4417e6f-fecd-4de8-b567-7b0420556985",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# The roles main.bicep grants, and no other.
GRANTED_ROLES = {
    "Storage Blob Data Owner",
    "Storage Blob Data Contributor",
    "Storage Queue Data Contributor",
    "Storage Table Data Contributor",
    "Key Vault Secrets User",
    "Key Vault Crypto User",
    "Key Vault Certificate User",
    "Key Vault Certificates Officer",
    "Key Vault Secrets Officer",
    "Monitoring Metrics Publisher",
}

PUBLIC_CLOUD_HOSTS = re.compile(
    r"core\.windows\.net|vault\.azure\.net|login\.microsoftonline\.com|login\.windows\.net"
    r"|management\.azure\.com|graph\.microsoft\.com|azurewebsites\.net|applicationinsights\.azure\.com"
    r"|monitor\.azure\.com|database\.windows\.net"
)

SECRET_LIKE = re.compile(r"(?i)secret|password|connectionstring|instrumentationkey|accesskey|list\w*\(")
ROLE_MAP_ENTRY = re.compile(
    r"'([^']+)': subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', '([0-9a-f-]+)'\)"
)


def description(decorators: Node | None) -> str | None:
    if decorators is None:
        return None
    for decorator in decorators.children:
        match = re.match(r"@description\('((?:[^'\\]|\\.)*)'\)", text(decorator), re.DOTALL)
        if match:
            return match.group(1)
    return None


def declarations(root: Node, kind: str) -> Iterator[tuple[Node, Node | None]]:
    """Each top-level declaration of `kind` with the decorators written above it."""
    pending: Node | None = None
    for child in root.children:
        if child.type == "decorators":
            pending = child
            continue
        if child.type == kind:
            yield child, pending
        if child.type != "comment":
            pending = None


def declaration_parts(node: Node) -> tuple[str, str, bool]:
    """(name, type text, has a default value) of a parameter or output declaration."""
    kinds = [child.type for child in node.children]
    name = text(node.children[kinds.index("identifier")])
    type_text = text(node.children[kinds.index("type")]) if "type" in kinds else ""
    return name, type_text, "=" in kinds


def object_fields(node: Node) -> Iterator[tuple[str, str, Node | None]]:
    """(name, type text, decorators) of each property of an object type."""
    pending: Node | None = None
    for child in node.children:
        if child.type == "decorators":
            pending = child
        elif child.type == "object_property":
            parts = [c for c in child.children if c.type not in (":", "comment")]
            yield text(parts[0]), text(parts[-1]), pending
            pending = None


# --------------------------------------------------------------------------------------------
# Syntax: tree-sitter-bicep
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", bicep_files(), ids=rel)
def test_bicep_file_parses_without_errors(path: Path) -> None:
    """tree-sitter-bicep parses the file without ERROR or MISSING nodes."""
    assert list(syntax_problems(tree(path))) == []


def test_only_the_graph_module_uses_an_extension() -> None:
    """The Microsoft Graph extension lives in its own file; no other file needs the `extension` rewrite."""
    users = [rel(p) for p in bicep_files() if EXTENSION_STATEMENT.search(p.read_bytes())]
    assert users == ["modules/graph-app.bicep"]


def test_bicepparam_parses_and_matches_main() -> None:
    """main.bicepparam uses main.bicep, reads the environment, sets declared parameters, all required ones."""
    source = (INFRA / "main.bicepparam").read_text(encoding="utf-8")
    code_lines = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("//")]
    assert code_lines[0] == "using './main.bicep'"
    # The grammar reads no .bicepparam assignments: check each value as a variable instead.
    as_bicep = re.sub(r"(?m)^using .*$", "", source)
    as_bicep = re.sub(r"(?m)^param (\w+) =", r"var \1 =", as_bicep)
    assert list(syntax_problems(parse(as_bicep.encode()))) == []

    assigned = set(re.findall(r"(?m)^param (\w+) =", source))
    params = {}
    for node, _ in declarations(tree(INFRA / "main.bicep"), "parameter_declaration"):
        name, type_text, has_default = declaration_parts(node)
        params[name] = type_text.endswith("?") or has_default
    assert assigned <= params.keys()
    assert {name for name, optional in params.items() if not optional} <= assigned
    assert "readEnvironmentVariable(" in source
    assert not re.search(r"(?i)secret|password", "\n".join(code_lines[1:]))


# --------------------------------------------------------------------------------------------
# Style: typed and described (Azure Verified Modules)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", bicep_files(), ids=rel)
def test_parameters_are_typed_and_described(path: Path) -> None:
    """Each parameter is typed, described 'Required. ' / 'Optional. '; optional ones nullable or defaulted."""
    problems = []
    for node, decorators in declarations(tree(path), "parameter_declaration"):
        name, type_text, has_default = declaration_parts(node)
        desc = description(decorators) or ""
        optional = type_text.endswith("?") or has_default
        if not type_text:
            problems.append(f"{name}: no type")
        if not desc.startswith(("Required. ", "Optional. ")):
            problems.append(f"{name}: description must start with 'Required. ' or 'Optional. '")
        elif desc.startswith("Required. ") == optional:
            problems.append(
                f"{name}: 'Required.' is neither defaulted nor nullable, 'Optional.' is one of them"
            )
        if decorators is not None and "@secure()" in text(decorators) and has_default:
            problems.append(f"{name}: a secure parameter has no default")
    assert problems == []


@pytest.mark.parametrize("path", bicep_files(), ids=rel)
def test_outputs_are_typed_described_and_not_secret(path: Path) -> None:
    """Each output has a type and a description, and none carries a key, secret or connection string."""
    problems = []
    for node, decorators in declarations(tree(path), "output_declaration"):
        name, type_text, _ = declaration_parts(node)
        if not type_text:
            problems.append(f"{name}: no type")
        if not description(decorators):
            problems.append(f"{name}: no description")
        if SECRET_LIKE.search(text(node)):
            problems.append(f"{name}: looks like a secret")
    assert problems == []


def test_exported_types_are_described_field_by_field() -> None:
    """Every user-defined type is @export()ed and described, and so is each of its fields."""
    root = tree(INFRA / "types.bicep")
    problems = []
    found = 0
    for node, decorators in declarations(root, "type_declaration"):
        found += 1
        name = text(node.children[1])
        if decorators is None or "@export()" not in text(decorators):
            problems.append(f"{name}: not exported")
        if not description(decorators):
            problems.append(f"{name}: no description")
        for obj in (c for c in node.children if c.type == "object"):
            for field, _, field_decorators in object_fields(obj):
                desc = description(field_decorators) or ""
                if not desc.startswith(("Required. ", "Optional. ")):
                    problems.append(f"{name}.{field}: no 'Required. ' / 'Optional. ' description")
    assert found >= 5
    assert problems == []


def test_no_secret_anywhere_in_infra() -> None:
    """No key is listed, no secure value is defaulted, and no public-cloud host name is hard-coded."""
    problems = []
    for path in [*bicep_files(), INFRA / "main.bicepparam"]:
        source = path.read_text(encoding="utf-8")
        if re.search(r"\blist(Keys|Secrets|AccountSas|ServiceSas|ConnectionStrings)?\(", source):
            problems.append(f"{rel(path)}: calls list*()")
        for match in PUBLIC_CLOUD_HOSTS.finditer(source):
            problems.append(f"{rel(path)}: hard-coded host {match.group(0)} (use environment())")
    assert problems == []


# --------------------------------------------------------------------------------------------
# Secure, least-privilege resources
# --------------------------------------------------------------------------------------------


def resource_types(path: Path) -> list[str]:
    return [
        text(node.children[2]).strip("'").split("@")[0]
        for node, _ in declarations(tree(path), "resource_declaration")
    ]


def test_checkov_skipped_files_declare_no_azure_resource() -> None:
    """Every Azure resource is in a file checkov checks; skipped files hold modules, types, Graph objects."""
    declared = {name: resource_types(INFRA / name) for name in CHECKOV_SKIPPED}
    assert declared["main.bicep"] == []
    assert declared["types.bicep"] == []
    assert declared["modules/connection-settings.bicep"] == []
    assert declared["modules/graph-app.bicep"]
    assert all(t.startswith("Microsoft.Graph/") for t in declared["modules/graph-app.bicep"])


ROLE_LOOP = re.compile(
    r"resource \w+ 'Microsoft\.Authorization/roleAssignments@[\w-]+' = \["
    r"\s*for (\w+) in (\w+): \{(.*?)\n  \}\n\]",
    re.DOTALL,
)


def test_role_assignments_are_data() -> None:
    """Each module assigns roles with looped resources, one a scope, as AVM modules do.

    Named guid(scope.id, principalId, roleDefinitionId), ServicePrincipal by default, roles from a
    builtInRoleNames map whose ids are the built-in ones.
    """
    problems = []
    modules_with_roles = []
    for path in bicep_files():
        source = path.read_text(encoding="utf-8")
        count = source.count("'Microsoft.Authorization/roleAssignments@")
        if count == 0:
            continue
        modules_with_roles.append(rel(path))
        loops = ROLE_LOOP.findall(source)
        if count != len(loops):
            problems.append(f"{rel(path)}: every role assignment must be a looped resource")
        for item, _, body in loops:
            scope = re.search(r"scope: ([\w\[\].]+)", body)
            target = scope.group(1) if scope else "?"
            expected = f"name: guid({target}.id, {item}.principalId, {item}.roleDefinitionId)"
            if expected not in body:
                problems.append(f"{rel(path)}: name must be guid(scope.id, principalId, roleDefinitionId)")
            if f"principalType: {item}.?principalType ?? 'ServicePrincipal'" not in body:
                problems.append(f"{rel(path)}: principalType must default to ServicePrincipal")
        for name, guid in ROLE_MAP_ENTRY.findall(source):
            if BUILT_IN_ROLES.get(name) != guid:
                problems.append(f"{rel(path)}: {name} is not {guid}")
    assert modules_with_roles == [
        "modules/keyvault.bicep",
        "modules/monitoring.bicep",
        "modules/storage.bicep",
        "modules/vault-access.bicep",
    ]
    assert problems == []


def storage_role_blocks(main: str) -> tuple[str, str]:
    """(account-scoped, container-scoped) role assignments main.bicep passes to the storage module."""
    module = re.search(r"\nmodule storage 'modules/storage\.bicep' = \{(.*?)\n\}\n", main, re.DOTALL)
    assert module, "main.bicep: module storage not found"
    main = module.group(1)
    account = re.search(r"\n    roleAssignments: \[(.*?)\n    \]\n", main, re.DOTALL)
    containers = re.search(r"\n    containerRoleAssignments: concat\((.*?)\n    \)\n", main, re.DOTALL)
    assert account, "main.bicep: storage roleAssignments not found"
    assert containers, "main.bicep: storage containerRoleAssignments not found"
    return account.group(1), containers.group(1)


def test_main_grants_only_the_roles_the_code_needs() -> None:
    """main.bicep grants the expected roles only; Key Vault Crypto and Certificate User for keyvault-key."""
    source = (INFRA / "main.bicep").read_text(encoding="utf-8")
    granted = set(re.findall(r"roleDefinitionIdOrName: '([^']+)'", source))
    assert granted == GRANTED_ROLES
    assert re.search(
        r"needsVaultKeys\s*\?\s*\[\s*\{\s*roleDefinitionIdOrName: 'Key Vault Crypto User'"
        r".*?roleDefinitionIdOrName: 'Key Vault Certificate User'",
        source,
        re.DOTALL,
    )
    assert "c.credential == 'keyvault-key' && c.?keyVaultResourceId == null" in source
    assert "var needsVaultKeys = usesKeyVaultKey || decryptsNotifications" in source
    assert "contains(extraSettings, 'WEBHOOKS_GRAPH_ENCRYPTION_CERTIFICATE')" in source
    assert re.search(
        r"deployerPrincipalId != null\s*\?\s*concat\(\[\s*\{\s*"
        r"roleDefinitionIdOrName: 'Key Vault Certificates Officer'",
        source,
    )


def role_block(source: str, variable: str) -> str:
    """The text of `var <variable> = ...` up to the next blank line."""
    found = re.search(rf"\nvar {variable} = (.*?)\n\n", source, re.DOTALL)
    assert found, f"main.bicep: var {variable} not found"
    return found.group(1)


def test_rotation_lets_the_app_renew_certificates_in_their_vaults() -> None:
    """With rotateCertificates, the app's identity is Key Vault Certificates Officer where certificates live.

    The certificate-rotation job creates new versions (docs/identity.md): on the app's vault when a
    certificate or keyvault-key connection keeps its certificate there, and on a connection's own vault.
    """
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert "param rotateCertificates bool = true" in main
    assert "var rotatesInAppVault = rotateCertificates && (usesCertificate || usesKeyVaultKey)" in main
    assert "c.credential == 'certificate' && c.?keyVaultResourceId == null" in main
    rotation = role_block(main, "rotationAssignments")
    assert re.fullmatch(
        r"rotatesInAppVault \? \[\s*\{\s*roleDefinitionIdOrName: 'Key Vault Certificates Officer'\s*"
        r"principalId: identity\.outputs\.principalId\s*\}\s*\] : \[\]",
        rotation,
    ), rotation
    assert re.search(
        r"roleAssignments: concat\(\s*secretsUserAssignments,\s*cryptoUserAssignments,\s*"
        r"rotationAssignments,\s*secretRotationAssignments,\s*deployerAssignments\s*\)",
        main,
    )


def test_secret_rotation_is_opt_in_with_the_role_it_needs() -> None:
    """rotateSecrets (default false) turns the job on and makes the app Secrets Officer where secrets live.

    The secret-rotation job writes new secret versions (docs/contract.md, "Secret rotation"): on the
    app's vault when a client-secret connection keeps its secret there, and on a connection's own vault;
    the app setting JOB_SECRET_ROTATION_ENABLED follows the same parameter, so the two cannot disagree.
    """
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert "param rotateSecrets bool = false" in main
    assert "var secretRole = rotateSecrets ? 'Key Vault Secrets Officer' : 'Key Vault Secrets User'" in main
    assert "var usesSecret = length(filter(connectionList, c => c.credential == 'client-secret' && " in main
    assert "var rotatesSecretsInAppVault = rotateSecrets && usesSecret" in main
    assert re.fullmatch(
        r"rotatesSecretsInAppVault \? \[\s*\{\s*roleDefinitionIdOrName: 'Key Vault Secrets Officer'\s*"
        r"principalId: identity\.outputs\.principalId\s*\}\s*\] : \[\]",
        role_block(main, "secretRotationAssignments"),
    )
    assert "JOB_SECRET_ROTATION_ENABLED: rotateSecrets ? 'true' : 'false'" in main
    for module in ("keyvault.bicep", "vault-access.bicep"):
        text = (INFRA / "modules" / module).read_text(encoding="utf-8")
        assert (
            "'Key Vault Secrets Officer': subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
            "'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')"
        ) in text, module


def test_the_deployer_gets_what_the_bootstrap_needs_and_no_more() -> None:
    """Officer to create; Secrets User only for certificate, Crypto User only for keyvault-key connections."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    deployer = role_block(main, "deployerAssignments")
    assert re.findall(r"roleDefinitionIdOrName: '([^']+)'", deployer) == [
        "Key Vault Certificates Officer",
        "Key Vault Secrets User",
        "Key Vault Crypto User",
    ]
    assert "usesCertificate ? [" in deployer
    assert "usesKeyVaultKey ? [" in deployer
    assert deployer.count("principalType: deployerPrincipalType") == 3
    roles = re.search(r"var deployerVaultRolesByCredential = \{(.*?)\n\}", main, re.DOTALL)
    assert roles
    by_kind = dict(re.findall(r"(?m)^  '?([\w-]+)'?: \[(.*?)\]", roles.group(1), re.DOTALL))
    assert {k: sorted(re.findall(r"'([^']+)'", v)) for k, v in by_kind.items()} == {
        "managed-identity": [],
        "federated-identity": [],
        "certificate": ["Key Vault Certificates Officer", "Key Vault Secrets User"],
        "client-secret": [],
        "keyvault-key": ["Key Vault Certificates Officer", "Key Vault Crypto User"],
    }
    assert "deployerRoleNames: deployerVaultRolesByCredential[c.credential]" in main
    access = (INFRA / "modules" / "vault-access.bicep").read_text(encoding="utf-8")
    assert "for roleName in (empty(deployerPrincipalId) ? [] : deployerRoleNames): {" in access
    assert "var formattedRoleAssignments = concat(identityRoleAssignments, deployerRoleAssignments)" in access


def test_storage_roles_are_scoped_to_what_each_identity_uses() -> None:
    """No blob role on the account; only the deployment identity has a role on the package's container."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    account, containers = storage_role_blocks(main)
    assert "Blob" not in account
    assert set(re.findall(r"roleDefinitionIdOrName: '([^']+)'", account)) == {
        "Storage Queue Data Contributor",
        "Storage Table Data Contributor",
    }
    grants = re.findall(
        r"map\((\w+), name => \{\s*roleDefinitionIdOrName: '([^']+)'\s*principalId: (\w+)\.outputs",
        containers,
    )
    assert grants == [
        ("hostContainerNames", "Storage Blob Data Owner", "identity"),
        ("dataContainerNames", "Storage Blob Data Contributor", "identity"),
    ]
    package = re.findall(
        r"roleDefinitionIdOrName: '([^']+)'\s*principalId: (\w+)\.outputs\.principalId\s*"
        r"containerName: deploymentContainerName",
        containers,
    )
    assert package == [("Storage Blob Data Contributor", "deploymentIdentity")]
    assert "'azure-webjobs-hosts'" in main
    assert "'azure-webjobs-secrets'" in main
    assert "deploymentIdentityResourceId: deploymentIdentity.outputs.resourceId" in main
    app = (INFRA / "modules" / "function-app.bicep").read_text(encoding="utf-8")
    assert "userAssignedIdentityResourceId: deploymentIdentityResourceId" in app


def test_every_vault_a_connection_names_gets_its_roles() -> None:
    """A connection's own vault (keyVaultResourceId) gets the roles of its kind, at that vault's scope."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    roles = re.search(
        r"var vaultRolesByCredential = rotateCertificates \? \{(.*?)\n\} : \{(.*?)\n\}", main, re.DOTALL
    )
    assert roles
    # `secretRole` is Secrets User, or Secrets Officer with rotateSecrets (the test above).
    rotating, fixed = (
        {
            k: sorted(re.findall(r"'([^']+)'", v.replace("secretRole", "'Key Vault Secrets User'")))
            for k, v in re.findall(r"(?m)^  '?([\w-]+)'?: \[(.*?)\]", block, re.DOTALL)
        }
        for block in roles.groups()
    )
    assert fixed == {
        "managed-identity": [],
        "federated-identity": [],
        "certificate": ["Key Vault Secrets User"],
        "client-secret": ["Key Vault Secrets User"],
        "keyvault-key": ["Key Vault Certificate User", "Key Vault Crypto User"],
    }
    # The rotation job creates new versions: Certificates Officer (which also reads the certificate).
    assert rotating == {
        "managed-identity": [],
        "federated-identity": [],
        "certificate": ["Key Vault Certificates Officer", "Key Vault Secrets User"],
        "client-secret": ["Key Vault Secrets User"],
        "keyvault-key": ["Key Vault Certificates Officer", "Key Vault Crypto User"],
    }
    assert "module connectionVaultAccess 'modules/vault-access.bicep' = [" in main
    assert "scope: resourceGroup(c.subscriptionId, c.resourceGroupName)" in main
    assert "roleNames: vaultRolesByCredential[c.credential]" in main
    connections = (INFRA / "modules" / "connection-settings.bicep").read_text(encoding="utf-8")
    assert "environment().suffixes.keyvaultDns" in connections


def test_a_connection_that_cannot_work_fails_the_deployment() -> None:
    """Missing client ids, certificate, secret or key names are collected and fail() at the start."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    for needed in ("needs clientId", "needs certificateName", "needs secretName", "needs keyName"):
        assert needed in main
    assert "!(c.credential == 'federated-identity' && deployGraphApp)" in main
    assert (
        "var connectionList = empty(connectionErrors) ? (connections ?? []) : "
        "fail('These connections cannot work: ${join(connectionErrors, '; ')}.')"
    ) in main
    # Every use of the connections goes through the checked list.
    assert main.count("connections ?? []") == 2


def test_graph_module_fails_outside_the_public_cloud() -> None:
    """deployGraphApp outside AzureCloud is a fail(); the docs say so and name Bicep 0.36.1."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert "var graphAppRequested = deployGraphApp ? (cloudName == 'AzureCloud' ? true : fail(" in main
    assert "module graphApp 'modules/graph-app.bicep' = if (graphAppRequested) {" in main
    for doc in (INFRA / "README.md", ROOT / "README.md"):
        source = doc.read_text(encoding="utf-8")
        assert "0.36.1" in source, doc
        assert "AzureCloud" in source, doc
    assert "works in Azure China and Azure\nUS Government" not in (INFRA / "README.md").read_text(
        encoding="utf-8"
    )


def test_instance_count_stays_in_flex_consumption_range() -> None:
    """maximumInstanceCount accepts 40 to 1000, in main.bicep and the module, as Flex Consumption does."""
    for path in (INFRA / "main.bicep", INFRA / "modules" / "function-app.bicep"):
        source = path.read_text(encoding="utf-8")
        assert "@minValue(40)\n@maxValue(1000)\nparam maximumInstanceCount int = " in source, path


def test_audit_and_storage_logs_go_to_the_workspace() -> None:
    """Key Vault AuditEvent and blob, queue and table read/write/delete logs have diagnostic settings."""
    vault = (INFRA / "modules" / "keyvault.bicep").read_text(encoding="utf-8")
    assert re.search(
        r"diagnosticSettings@[\w-]+' = \{.*?scope: vault.*?category: 'AuditEvent'", vault, re.DOTALL
    )
    storage = (INFRA / "modules" / "storage.bicep").read_text(encoding="utf-8")
    for service in ("blobService", "queueService", "tableService"):
        assert re.search(rf"diagnosticSettings@[\w-]+' = \{{\s*name: '[\w-]+'\s*scope: {service}\s", storage)
    for category in ("StorageRead", "StorageWrite", "StorageDelete"):
        assert f"category: '{category}'" in storage
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert main.count("workspaceResourceId: monitoring.outputs.workspaceResourceId") == 2


def test_vault_name_takes_the_azd_salt() -> None:
    """The default vault name ends with keyVaultNameSalt, read from the azd environment."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert "name: keyVaultName ?? 'kv-${resourceToken}${toLower(keyVaultNameSalt)}'" in main
    params = (INFRA / "main.bicepparam").read_text(encoding="utf-8")
    assert "param keyVaultNameSalt = readEnvironmentVariable('AZURE_KEY_VAULT_SALT', '')" in params


def test_resources_are_secure_by_construction() -> None:
    """The properties that make the deployment secretless are literals in the modules, not parameters."""
    storage = (INFRA / "modules" / "storage.bicep").read_text(encoding="utf-8")
    for line in (
        "allowSharedKeyAccess: false",
        "minimumTlsVersion: 'TLS1_2'",
        "allowBlobPublicAccess: false",
        "supportsHttpsTrafficOnly: true",
        "defaultToOAuthAuthentication: true",
    ):
        assert line in storage
    vault = (INFRA / "modules" / "keyvault.bicep").read_text(encoding="utf-8")
    for line in (
        "enableRbacAuthorization: true",
        "enableSoftDelete: true",
        "enablePurgeProtection: true",
        "publicNetworkAccess: publicNetworkAccess",
    ):
        assert line in vault
    monitoring = (INFRA / "modules" / "monitoring.bicep").read_text(encoding="utf-8")
    assert "disableLocalAuth: true" in monitoring
    assert "DisableLocalAuth: true" in monitoring
    app = (INFRA / "modules" / "function-app.bicep").read_text(encoding="utf-8")
    for line in (
        "httpsOnly: true",
        "ftpsState: 'Disabled'",
        "minTlsVersion: '1.2'",
        "name: 'FC1'",
        "tier: 'FlexConsumption'",
        "reserved: true",
        "type: 'UserAssigned'",
        "type: 'UserAssignedIdentity'",
        "name: 'python'",
        "version: '3.11'",
    ):
        assert line in app
    assert "SystemAssigned" not in app
    # Flex Consumption rejects these (the runtime, version and package are in functionAppConfig).
    for path in bicep_files():
        source = path.read_text(encoding="utf-8")
        for forbidden in (
            "FUNCTIONS_WORKER_RUNTIME",
            "FUNCTIONS_EXTENSION_VERSION",
            "WEBSITE_RUN_FROM_PACKAGE",
            "WEBSITE_CONTENT",
        ):
            # Never set: neither as a key of a settings object nor as a name: in a settings list.
            assert not re.search(rf"(?m)^\s*'?{forbidden}\w*'?:|name: '{forbidden}", source), (
                rel(path),
                forbidden,
            )
    # Nor let through from extraAppSettings.
    assert "fail('extraAppSettings: Flex Consumption does not accept" in (INFRA / "main.bicep").read_text(
        encoding="utf-8"
    )


def test_graph_module_trusts_the_user_assigned_identity() -> None:
    """The federated credential trusts the identity's principal id, with the cloud's issuer and audience."""
    source = (INFRA / "modules" / "graph-app.bicep").read_text(encoding="utf-8")
    assert "extension microsoftGraphV1" in source
    assert "issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'" in source
    assert "subject: managedIdentityPrincipalId" in source
    assert "AzureCloud: 'api://AzureADTokenExchange'" in source
    assert "'Microsoft.Graph/servicePrincipals@v1.0'" in source
    assert "'Microsoft.Graph/appRoleAssignedTo@v1.0'" in source
    config = json.loads((INFRA / "bicepconfig.json").read_text(encoding="utf-8"))
    registry = "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:"
    assert config["extensions"]["microsoftGraphV1"].startswith(registry)


def test_azd_deploys_the_function_app() -> None:
    """azure.yaml provisions infra/main.bicep and deploys the root to the app tagged azd-service-name: api."""
    manifest = (ROOT / "azure.yaml").read_text(encoding="utf-8")
    assert re.search(r"(?m)^  path: infra$", manifest)
    assert re.search(r"(?m)^  module: main$", manifest)
    assert re.search(r"(?m)^  api:\n    project: \.\n    language: python\n    host: function$", manifest)
    assert "'azd-service-name': 'api'" in (INFRA / "main.bicep").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Settings: the Bicep sets what the code reads, and nothing else
# --------------------------------------------------------------------------------------------


def code_files() -> list[Path]:
    return [ROOT / "function_app.py", *sorted((ROOT / "shared").rglob("*.py"))]


def string_constants(path: Path) -> Iterator[str]:
    """String literals of a module, f-string fragments included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def class_constants(path: Path, class_name: str) -> Iterator[str]:
    """String values assigned in a class of that name (config: EnvironmentVariables, ConnectionFields)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for statement in node.body:
                value = statement.value if isinstance(statement, ast.Assign) else None
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield value.value


def settings_read_by_code() -> tuple[set[str], set[str]]:
    """(plain setting names, connection fields) named by string literals in function_app.py and shared/.

    A literal counts when it looks like a setting name (SETTING_NAME), or is a value of the config
    module's `EnvironmentVariables` / `ConnectionFields` classes, where every name the app reads is kept.
    """
    names: set[str] = set()
    fields: set[str] = set()
    for path in code_files():
        constants = list(string_constants(path))
        names.update(c for c in constants if SETTING_NAME.match(c))
        names.update(c for c in class_constants(path, "EnvironmentVariables") if not c.endswith("__"))
        fields.update(class_constants(path, "ConnectionFields"))
        if any(c.startswith("CONNECTIONS__") for c in constants):
            for c in constants:
                field = c.rsplit("__", 1)[-1] if "__" in c else c
                if field in CONNECTION_FIELDS and (c == field or c.endswith("__" + field)):
                    fields.add(field)
    return names, fields


def settings_set_by_bicep() -> tuple[set[str], set[str]]:
    """(plain setting names, connection fields) the Bicep gives the Function App."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    block = re.search(
        r"var appSettings = union\(checkedExtraSettings, \{\n(.*?)\n\}, "
        r"connectionSettings\.outputs\.settings\)",
        main,
        re.DOTALL,
    )
    assert block, (
        "main.bicep: var appSettings = union(checkedExtraSettings, { ... }, connectionSettings) not found"
    )
    names = set(re.findall(r"(?m)^  (\w+):", block.group(1)))
    app = (INFRA / "modules" / "function-app.bicep").read_text(encoding="utf-8")
    # The parameter's settings, plus those only the module can read (the connection string).
    extra = re.search(r"appSettings: concat\(appSettingsList, \[(.*?)\n      \]\)", app, re.DOTALL)
    assert extra, "function-app.bicep: appSettings: concat(appSettingsList, [ ... ]) not found"
    names |= set(re.findall(r"name: '(\w+)'", extra.group(1)))
    assert "for setting in items(appSettings): {" in app
    connections = (INFRA / "modules" / "connection-settings.bicep").read_text(encoding="utf-8")
    fields = set(re.findall(r"'CONNECTIONS__\$\{toUpper\(c\.name\)\}__([A-Z_]+)'", connections))
    assert "}, connectionSettings.outputs.settings)" in main
    return names, fields


def test_bicep_sets_the_contract_settings() -> None:
    """The Bicep sets the contract's settings, every connection field, and identity-based host storage."""
    names, fields = settings_set_by_bicep()
    assert names >= CONTRACT_SETTINGS
    assert fields >= CONNECTION_FIELDS
    assert names >= {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    }
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert "AzureWebJobsStorage__credential: 'managedidentity'" in main
    auth = (
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'"
    )
    assert auth in main
    assert "var cloudName = environment().name" in main
    assert "AZURE_CLOUD: cloudName" in main


def test_every_setting_the_code_reads_is_set() -> None:
    """Each setting named in function_app.py or shared/ is set by the Bicep or listed in app_settings.py."""
    read, read_fields = settings_read_by_code()
    names, fields = settings_set_by_bicep()
    # An identity-based connection (AzureWebJobsStorage) is set through its NAME__* settings.
    set_prefixes = {n.split("__")[0] for n in names if "__" in n}
    unset = {
        n
        for n in read - names - set_prefixes
        if not not_set_by_bicep(n) and not n.startswith(PLATFORM_PREFIXES) and not HOST_SETTINGS.match(n)
    }
    assert unset == set()
    assert read_fields - CONNECTION_FIELDS_NOT_SET_BY_BICEP.keys() <= fields


def test_settings_the_host_resolves_are_set() -> None:
    """A `%NAME%` in a trigger of function_app.py is set by the Bicep: the host fails to index without it."""
    names, _ = settings_set_by_bicep()
    source = (ROOT / "function_app.py").read_text(encoding="utf-8")
    resolved = set(re.findall(r"[\"']%(\w+)%[\"']", source))
    assert resolved - names == set(), "set these in main.bicep's var appSettings"
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert "param extraAppSettings object?" in main
    params = (INFRA / "main.bicepparam").read_text(encoding="utf-8")
    assert "param extraAppSettings = json(readEnvironmentVariable('DEPLOY_APP_SETTINGS', '{}'))" in params


def test_no_orphan_setting() -> None:
    """Each setting the Bicep sets for the code is read by it (the contract's list until config.py lands)."""
    names, fields = settings_set_by_bicep()
    for_code = {n for n in names if not HOST_SETTINGS.match(n)}
    if (ROOT / "shared" / "config.py").exists() or (ROOT / "shared" / "config").is_dir():
        read, read_fields = settings_read_by_code()
        assert for_code - read == set()
        assert fields - read_fields == set()
    else:
        assert for_code == CONTRACT_SETTINGS


def string_list_param(name: str) -> set[str]:
    """The default values of a `param NAME string[] = [...]` of main.bicep."""
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    block = re.search(rf"param {name} string\[\] = \[(.*?)\]", main, re.DOTALL)
    assert block, f"main.bicep: param {name} string[] = [...] not found"
    return set(re.findall(r"'([^']+)'", block.group(1)))


STORAGE_WORDS = {"queue", "table", "container", "blob", "timer", "http"}


def storage_names_in_code() -> dict[str, set[str]]:
    """Queue, table and container names the code names in QUEUE / TABLE / CONTAINER constants."""
    found: dict[str, set[str]] = {"QUEUE": set(), "TABLE": set(), "CONTAINER": set()}
    for path in code_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
                continue
            for target in node.targets:
                kind = (
                    re.search(r"(QUEUE|TABLE|CONTAINER)$", target.id)
                    if isinstance(target, ast.Name)
                    else None
                )
                value = node.value.value
                # Storage names only (3-63 lower-case letters, digits, hyphens), not setting names.
                if not kind or not isinstance(value, str):
                    continue
                # "queue", "table" are kinds of trigger or service (TRIGGER_QUEUE = "queue"), not names.
                if re.fullmatch(r"[a-z0-9][a-z0-9-]{2,62}", value) and value not in STORAGE_WORDS:
                    found[kind.group(1)].add(value)
    return found


def test_the_storage_the_code_uses_exists_with_its_roles() -> None:
    """Each queue, table and blob container the code names is created; containers get their own role."""
    named = storage_names_in_code()
    assert named["QUEUE"] <= string_list_param("queueNames")
    assert named["TABLE"] <= string_list_param("tableNames")
    # Blob roles are per container (not on the account): a container missing here would be denied.
    assert named["CONTAINER"] <= string_list_param("dataContainerNames")
    assert named["CONTAINER"], "no CONTAINER constant found in the code"


def test_queues_the_code_triggers_on_exist() -> None:
    """Every queue_name in function_app.py is a queue the Bicep creates, on a connection it configures."""
    created = string_list_param("queueNames")
    names, _ = settings_set_by_bicep()
    tree_ = ast.parse((ROOT / "function_app.py").read_text(encoding="utf-8"))
    constants = {
        t.id: n.value.value
        for n in ast.walk(tree_)
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    for node in ast.walk(tree_):
        if not isinstance(node, ast.keyword):
            continue
        value = node.value.value if isinstance(node.value, ast.Constant) else None
        if isinstance(node.value, ast.Name):
            value = constants.get(node.value.id)
        if node.arg == "queue_name" and isinstance(value, str) and not value.startswith("%"):
            assert value in created
        if node.arg == "connection" and isinstance(value, str):
            assert f"{value}__accountName" in names


# --------------------------------------------------------------------------------------------
# checkov
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    """One checkov run over infra/ (about 10 s), shared by the tests below."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make infra-check` (checkov has its own virtual environment)")
    skips = [arg for name in CHECKOV_SKIPPED for arg in ("--skip-path", f"infra/{name}")]
    run = subprocess.run(
        [str(CHECKOV), "-d", "infra", "--framework", "bicep", "-o", "json", "--skip-download", *skips],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]
    report = json.loads(run.stdout)
    reports = report if isinstance(report, list) else [report]
    assert [r.get("check_type") for r in reports] == ["bicep"], run.stdout[:2000]
    result: dict[str, Any] = reports[0]
    return result


def test_checkov_parses_every_checked_file(checkov_report: dict[str, Any]) -> None:
    """checkov reports no parsing error (it would exit 0 having checked nothing) and checks each module."""
    assert checkov_report["results"].get("parsing_errors", []) == []
    assert checkov_report["summary"]["parsing_errors"] == 0
    checked = {c["file_path"].lstrip("/") for c in checkov_report["results"]["passed_checks"]}
    assert {"modules/storage.bicep", "modules/keyvault.bicep", "modules/function-app.bicep"} <= checked
    assert checkov_report["summary"]["resource_count"] >= 20


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    """No checkov check fails; each skipped one is suppressed inline with its reason."""
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']}: {c['resource']})"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []
    assert checkov_report["summary"]["passed"] > 0
    unexplained = [
        c["check_id"]
        for c in checkov_report["results"]["skipped_checks"]
        if len((c["check_result"].get("suppress_comment") or "").strip()) < 20
    ]
    assert unexplained == []
