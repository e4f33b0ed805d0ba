"""The Bicep compiler's rules (tests/infra/bicep_compiler.py) pass on infra/ and fail where Bicep fails.

Each rule is shown failing on a minimal template that `bicep build` rejects with that code, and
passing on its corrected form; the BCP178 case is the function-app.bicep that stopped `azd up`
(tests/infra/fixtures/bcp178-function-app.bicep, kept as it was).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra import bicep_compiler
from tests.infra.bicep_compiler import check_file, check_source, codes
from tests.infra.support import FIXTURES, bicep_files, rel

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("path", bicep_files(), ids=rel)
def test_infra_file_passes_the_compiler_rules(path: Path) -> None:
    """No infra/ file breaks a compiler rule checked here (deploy-time constants, names, modules...)."""
    assert [str(p) for p in check_file(path, rel(path))] == []


def test_the_old_function_app_fails_with_bcp178() -> None:
    """The `for` over items(allAppSettings), which merges an existing resource's properties, is BCP178."""
    problems = check_file(FIXTURES / "bcp178-function-app.bicep")
    assert codes(problems) == ["BCP178"]
    assert "allAppSettings -> applicationInsights.properties" in problems[0].message
    assert (problems[0].line, problems[0].column) == (102, 24)


# (code, failing template, passing template). Each pair differs only in what the rule is about.
CASES = {
    "for over a resource's properties": (
        "BCP178",
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: 'x' }\n"
        "var names = sa.properties.primaryEndpoints\n"
        "output o array = [for n in items(names): n.key]\n",
        "param names object\noutput o array = [for n in items(names): n.key]\n",
    ),
    "for over a module's outputs": (
        "BCP178",
        "module m 'mod.bicep' = { name: 'm' }\noutput o array = [for x in m.outputs.list: x]\n",
        "module m 'mod.bicep' = { name: 'm' }\noutput o array = m.outputs.list\n",
    ),
    "for over reference()": (
        "BCP178",
        "param id string\nvar keys = [for k in reference(id).keys: k]\n",
        "param ids array\nvar keys = [for k in ids: k]\n",
    ),
    "for over list*()": (
        "BCP178",
        "param id string\nvar keys = [for k in listKeys(id, '2023-01-01').keys: k.value]\n",
        "param id string\nvar keys = [for k in range(0, 2): '${id}-${k}']\n",
    ),
    "property loop over a runtime value": (
        "BCP178",
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: 'x' }\n"
        "resource q 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {\n"
        "  name: 'q'\n  properties: { metadata: [for m in sa.properties.tags: m] }\n}\n",
        "param tags array\n"
        "resource q 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {\n"
        "  name: 'q'\n  properties: { metadata: [for m in tags: m] }\n}\n",
    ),
    "condition on a module's output": (
        "BCP177",
        "module m 'mod.bicep' = { name: 'm' }\n"
        "resource r 'Microsoft.Network/dnsZones@2018-05-01' = if (m.outputs.flag) { name: 'z' }\n",
        "param flag bool\nresource r 'Microsoft.Network/dnsZones@2018-05-01' = if (flag) { name: 'z' }\n",
    ),
    "resource name from a module's output": (
        "BCP120",
        "module m 'mod.bicep' = { name: 'm' }\n"
        "resource r 'Microsoft.Network/dnsZones@2018-05-01' = { name: m.outputs.zone }\n",
        "param zone string\n"
        "resource r 'Microsoft.Network/dnsZones@2018-05-01' = {\n"
        "  name: '${zone}-${uniqueString(resourceGroup().id, subscription().id, tenant().tenantId)}'\n}\n",
    ),
    "module scope from a resource's properties": (
        "BCP120",
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: 'x' }\n"
        "module m 'mod.bicep' = { name: 'm', scope: resourceGroup(sa.properties.primaryLocation) }\n",
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: 'x' }\n"
        "module m 'mod.bicep' = { name: guid(sa.id), scope: resourceGroup(environment().name) }\n",
    ),
    "variable loop body from a resource's properties": (
        "BCP182",
        "param names array\n"
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: 'x' }\n"
        "var urls = [for n in names: '${sa.properties.primaryEndpoints.blob}${n}']\n",
        "param names array\n"
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: 'x' }\n"
        "var urls = [for n in names: '${sa.id}/${n}']\n",
    ),
    "function body reading a resource": (
        "BCP341",
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: 'x' }\n"
        "func blob(n string) string => '${sa.properties.primaryEndpoints.blob}${n}'\n",
        "func blob(n string) string => 'https://${n}'\n",
    ),
    "undefined name": (
        "BCP057",
        "param location string\noutput o string = locaton\n",
        "param location string\noutput o string = location\n",
    ),
    "undefined function": (
        "BCP057",
        "output o string = toLowerCase('A')\n",
        "output o string = toLower('A')\n",
    ),
    "lambda variable used outside its lambda": (
        "BCP057",
        "param cs array\nvar n = length(filter(cs, c => c.kind == 'a')) + c\n",
        "param cs array\nvar n = length(filter(cs, c => c.kind == 'a' && c.on))\n",
    ),
    "duplicate identifier": (
        "BCP028",
        "param name string\nvar name = 'x'\n",
        "param name string\noutput name string = name\n",
    ),
    "duplicate output": (
        "BCP145",
        "output o string = 'a'\noutput o string = 'b'\n",
        "output o string = 'a'\noutput p string = 'b'\n",
    ),
    "duplicate property": (
        "BCP025",
        "var settings = {\n  KEY_VAULT_URL: 'a'\n  key_vault_url: 'b'\n}\n",
        "var settings = {\n  KEY_VAULT_URL: 'a'\n  AZURE_CLOUD: 'b'\n}\n",
    ),
    "output of a conditional module": (
        "BCP318",
        "param on bool\nmodule m 'mod.bicep' = if (on) { name: 'm' }\n"
        "output o string = on ? m.outputs.zone : ''\n",
        "param on bool\nmodule m 'mod.bicep' = if (on) { name: 'm' }\n"
        "output o string = on ? m!.outputs.zone : ''\noutput p string? = m.?outputs.zone\n",
    ),
    "properties of a conditional resource": (
        "BCP318",
        "param on bool\n"
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = if (on) { name: 'x' }\n"
        "output o string = sa.properties.primaryEndpoints.blob\n",
        "param on bool\n"
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = if (on) { name: 'x' }\n"
        "output o string = sa.id\n",
    ),
    "looped resource with a constant name": (
        "BCP179",
        "param zones array\n"
        "resource r 'Microsoft.Network/dnsZones@2018-05-01' = [for z in zones: { name: 'zone' }]\n",
        "param zones array\n"
        "resource r 'Microsoft.Network/dnsZones@2018-05-01' = [for z in zones: { name: z }]\n",
    ),
    "for as a function argument": (
        "BCP138",
        "param names array\nvar settings = concat([for n in names: { name: n }], [])\n",
        "param names array\nvar list = [for n in names: { name: n }]\nvar settings = concat(list, [])\n",
    ),
    "for inside a variable's object": (
        "BCP138",
        "param names array\nvar config = { disks: [for n in names: n] }\n",
        "param names array\nvar disks = [for n in names: n]\nvar config = { disks: disks }\n",
    ),
    "nested property loops": (
        "BCP142",
        "param names array\nresource r 'Microsoft.Network/dnsZones@2018-05-01' = {\n  name: 'z'\n"
        "  properties: { a: [for n in names: { b: [for m in names: m] }] }\n}\n",
        "param names array\nresource r 'Microsoft.Network/dnsZones@2018-05-01' = {\n  name: 'z'\n"
        "  properties: { a: [for n in names: { b: names }] }\n}\n",
    ),
    "lambda outside a lambda function": (
        "BCP242",
        "param names array\nvar f = concat(names, n => n)\n",
        "param names array\nvar f = map(names, n => toUpper(n))\n",
    ),
    "lambda variable indexing a resource collection": (
        "BCP247",
        "param names array\n"
        "resource zones 'Microsoft.Network/dnsZones@2018-05-01' = [for n in names: { name: n }]\n"
        "output ids array = map(range(0, length(names)), i => zones[i].id)\n",
        "param names array\n"
        "resource zones 'Microsoft.Network/dnsZones@2018-05-01' = [for n in names: { name: n }]\n"
        "output ids array = [for (n, i) in names: zones[i].id]\n",
    ),
    "lambda variable inside reference()": (
        "BCP248",
        "param ids array\noutput states array = map(ids, id => reference(id).provisioningState)\n",
        "param ids array\noutput states array = [for id in ids: reference(id).provisioningState]\n",
    ),
    "nullable parameter with a default": (
        "BCP326",
        "param name string? = 'x'\n",
        "param name string?\n",
    ),
    "default above @maxValue": (
        "BCP327",
        "@maxValue(1000)\nparam count int = 2000\n",
        "@maxValue(1000)\nparam count int = 1000\n",
    ),
    "module argument below @minValue": (
        "BCP328",
        "module m 'mod.bicep' = { name: 'm', params: { zone: 'z', count: 1 } }\n",
        "module m 'mod.bicep' = { name: 'm', params: { zone: 'z', count: 40 } }\n",
    ),
    "missing module parameter": (
        "BCP035",
        "module m 'mod.bicep' = { name: 'm', params: {} }\n",
        "module m 'mod.bicep' = { name: 'm', params: { zone: 'z' } }\n",
    ),
    "unknown module parameter": (
        "BCP037",
        "module m 'mod.bicep' = { name: 'm', params: { zone: 'z', zones: 'z' } }\n",
        "module m 'mod.bicep' = { name: 'm', params: { zone: 'z' } }\n",
    ),
    "unknown module output": (
        "BCP053",
        "module m 'mod.bicep' = { name: 'm' }\noutput o string = m.outputs.zones\n",
        "module m 'mod.bicep' = { name: 'm' }\noutput o string = m.outputs.zone\n",
    ),
    "missing module file": (
        "BCP091",
        "module m 'modules/mod.bicep' = { name: 'm' }\n",
        "module m 'mod.bicep' = { name: 'm' }\n",
    ),
    "import of a symbol not exported": (
        "BCP360",
        "import { hidden } from 'mod.bicep'\n",
        "import { shown } from 'mod.bicep'\n",
    ),
}

MODULE = """\
@description('Required. Zone.')
param zone string = 'z'
@minValue(40)
param count int = 40
@export()
type shown = string
type hidden = string
output zone string = zone
output list array = []
output flag bool = true
"""


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    """A folder holding mod.bicep, the module the cases reference."""
    (tmp_path / "mod.bicep").write_text(MODULE.replace("param zone string = 'z'", "param zone string"))
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_rule_fails_where_bicep_fails(case: str, module_dir: Path) -> None:
    """The failing template gets exactly the rule's code; its corrected form gets none."""
    code, failing, passing = CASES[case]
    assert codes(check_source(failing, module_dir)) == [code]
    assert [str(p) for p in check_source(passing, module_dir)] == []


def test_every_rule_named_in_the_docstring_has_a_failing_case() -> None:
    """Each BCP code the checker documents is shown failing here, so none is claimed without a test."""
    documented = set(re.findall(r"BCP\d{3}", bicep_compiler.__doc__ or ""))
    assert documented == {code for code, _, _ in CASES.values()} | {"BCP178"}


def test_member_access_binds_tighter_than_the_conditional_operator(module_dir: Path) -> None:
    """`c ? a : m.outputs.x` reads m.outputs.x (the grammar's precedence is corrected before the rules)."""
    source = (
        "param c bool\nmodule m 'mod.bicep' = if (c) { name: 'm' }\n"
        "output o string = c ? '' : m.outputs.zone\n"
    )
    assert codes(check_source(source, module_dir)) == ["BCP318"]
