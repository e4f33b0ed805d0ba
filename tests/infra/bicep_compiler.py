"""The Bicep compiler's rules that a syntax tree can decide, checked without a Bicep CLI.

No registry ships a working `bicep` CLI, and checkov's and tree-sitter's parsers accept templates
that `bicep build` rejects (a `for` over a value known only during the deployment parsed fine and
stopped `azd up`). So the rules below are checked here on tree-sitter-bicep's syntax tree, each
named by its code in Microsoft's list of Bicep diagnostics
(https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-core-diagnostics):

Deploy-time constants (values computable at the start of the deployment: literals, parameters,
variables built only from such values, resourceGroup()/subscription()/tenant()/environment()/
deployment(), and functions of those such as uniqueString() and guid(); a resource's `id`, `name`,
`type` and `apiVersion`, and a module's `name`; never a resource's `properties` or other members,
reference(), list*(), getSecret(), or a module's `outputs`):
- BCP178  every `for` iterable (resources, modules, variables, outputs, properties);
- BCP177  every resource's and module's `if` condition;
- BCP120  every resource's `name`, `scope` and `parent`, and every module's `name` and `scope`;
- BCP182  the body of a variable's `for` (it is evaluated at the start, like the variable);
- BCP341  the body of a user-defined function.
Names and declarations:
- BCP057  every name refers to a declaration, an import, a loop or lambda variable, a function
          parameter or a known function (the lists of `sys` and `az` functions below);
- BCP028  no identifier is declared twice (parameters, variables, resources, modules, types,
          functions, imports share one namespace); BCP145 nor an output;
- BCP025  no property is written twice in an object literal (case-insensitively, as ARM does).
Modules and imports (across files):
- BCP091  a module's or import's relative path names an existing file;
- BCP035  a module sets every parameter its file requires (no default, not nullable);
- BCP037  and no parameter its file does not declare;
- BCP053  `<module>.outputs.<name>` names an output the module's file declares;
- BCP360  each imported symbol is declared and `@export()`ed by the imported file.
Values:
- BCP318  a conditional module's `outputs` and a conditional resource's members other than id,
          name, type and apiVersion are reached through `!` or `.?` (they are null when skipped);
- BCP179  a looped resource's or module's `name`, `parent` or `scope` uses the loop variable;
- BCP326  a nullable parameter has no default value;
- BCP138  a `for` is the value of a declaration or of a resource or module property, nowhere else
          (not a function argument), and BCP142 property `for`s are not nested;
- BCP242  a lambda is an argument of filter/groupBy/map/mapValues/reduce/sort/toObject; BCP247 its
          variables index no resource or module collection, BCP248 nor reach reference()/list*();
- BCP327 / BCP328  an integer literal given to a parameter (its default, or a module's argument)
          lies within the parameter's @minValue/@maxValue.

tree-sitter-bicep 1.1.0 gives member access a lower precedence than `?:`, `!`, binary operators
and lambdas (`c ? a : b.x` reads as `(c ? a : b).x`, `x => x.a == 1` as `(x => x).a == 1`); the
conversion below rebinds those as Bicep does before any rule looks at them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from tree_sitter import Node

from tests.infra.support import bicep_source, parse, syntax_problems, text


def _words(names: str) -> frozenset[str]:
    return frozenset(names.split())


# The `sys` and `az` namespaces' functions (Bicep functions reference on learn.microsoft.com).
SYS_FUNCTIONS = _words(
    """any array base64 base64ToJson base64ToString bool buildUri cidrHost cidrSubnet coalesce concat
    contains dataUri dataUriToString dateTimeAdd dateTimeFromEpoch dateTimeToEpoch deployer empty
    endsWith externalInput fail filter first flatten format groupBy guid indexOf int intersection items
    join json last lastIndexOf length loadFileAsBase64 loadJsonContent loadTextContent loadYamlContent
    map mapValues max min nameof newGuid objectKeys padLeft parseCidr parseUri range
    readEnvironmentVariable reduce replace shallowMerge skip sort split startsWith string substring
    take toLower toObject toUpper trim tryGet union uniqueString uri uriComponent uriComponentToString
    utcNow"""
)
AZ_FUNCTIONS = _words(
    """deployment environment extensionResourceId managementGroup managementGroupResourceId pickZones
    providers reference resourceGroup resourceId subscription subscriptionResourceId tenant
    tenantResourceId toLogicalZone toPhysicalZone"""
)
NAMESPACES = frozenset({"az", "sys"})
# Known only once the deployment runs.
RUNTIME_FUNCTIONS = frozenset({"reference", "getSecret", "pickZones"})
RESOURCE_START_PROPERTIES = frozenset({"id", "name", "type", "apiVersion"})
MODULE_START_PROPERTIES = frozenset({"name"})
# The only functions that take lambdas (Bicep's lambda functions reference).
LAMBDA_FUNCTIONS = frozenset({"filter", "groupBy", "map", "mapValues", "reduce", "sort", "toObject"})
MIN_VALUE = re.compile(r"@minValue\((-?\d+)\)")
MAX_VALUE = re.compile(r"@maxValue\((-?\d+)\)")


def is_function(name: str) -> bool:
    return name in SYS_FUNCTIONS or name in AZ_FUNCTIONS or name.startswith("list")


def is_runtime_function(name: str) -> bool:
    return name in RUNTIME_FUNCTIONS or name.startswith("list")


@dataclass(frozen=True)
class Problem:
    """One diagnostic, as `bicep build` would print it."""

    code: str
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}({self.line},{self.column}) : Error {self.code}: {self.message}"


# ------------------------------------------------------------------------------------------------
# Expressions: tree-sitter nodes turned into a small tree with Bicep's precedence
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    node: Node


@dataclass(frozen=True)
class Ident(Expr):
    name: str


@dataclass(frozen=True)
class Literal(Expr):
    value: str


@dataclass(frozen=True)
class Group(Expr):
    """Strings with interpolations, arrays, and anything else made only of its parts."""

    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Prop:
    key: str | None  # None when the key is an interpolated string
    key_expr: Expr | None
    value: Expr | None
    node: Node
    resource: Node | None = None  # a nested resource declaration


@dataclass(frozen=True)
class Obj(Expr):
    props: tuple[Prop, ...]

    def get(self, key: str) -> Expr | None:
        return next((p.value for p in self.props if p.key == key), None)


@dataclass(frozen=True)
class Member(Expr):
    obj: Expr
    prop: str
    safe: bool


@dataclass(frozen=True)
class Index(Expr):
    obj: Expr
    index: Expr
    safe: bool


@dataclass(frozen=True)
class NonNull(Expr):
    expr: Expr


@dataclass(frozen=True)
class Call(Expr):
    name: str
    target: Expr | None  # `x` of `x.f()`
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Lambda(Expr):
    params: tuple[str, ...]
    body: Expr


@dataclass(frozen=True)
class Ternary(Expr):
    condition: Expr
    true: Expr
    false: Expr


@dataclass(frozen=True)
class Binary(Expr):
    left: Expr
    op: str
    right: Expr


@dataclass(frozen=True)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(frozen=True)
class For(Expr):
    names: tuple[str, ...]
    iterable: Expr
    condition: Expr | None
    body: Expr


@dataclass(frozen=True)
class ChildAccess(Expr):
    """`parent::child`."""

    obj: Expr
    child: str


def _attach(obj: Expr, make: Callable[[Expr], Expr]) -> Expr:
    """Apply a postfix access to the rightmost operand, where Bicep's precedence puts it."""
    if isinstance(obj, Ternary):
        return replace(obj, false=_attach(obj.false, make))
    if isinstance(obj, Binary):
        return replace(obj, right=_attach(obj.right, make))
    if isinstance(obj, Unary):
        return replace(obj, operand=_attach(obj.operand, make))
    if isinstance(obj, Lambda):
        return replace(obj, body=_attach(obj.body, make))
    return make(obj)


def _non_null(node: Node) -> Callable[[Expr], Expr]:
    return lambda e: NonNull(node, e)


def expr_children(node: Node) -> list[Expr]:
    """The expressions among a node's children; a postfix `!` wraps the one before it."""
    out: list[Expr] = []
    for child in node.children:
        if child.type == "!" and out:
            out[-1] = _attach(out[-1], _non_null(child))
        elif child.is_named and child.type != "comment":
            out.append(to_expr(child))
    return out


def _string(node: Node) -> Expr:
    parts = [to_expr(c.named_children[0]) for c in node.children if c.type == "interpolation"]
    if not parts:
        content = "".join(text(c) for c in node.children if c.type in ("string_content", "escape_sequence"))
        return Literal(node, content)
    return Group(node, tuple(parts))


def _object(node: Node) -> Obj:
    props: list[Prop] = []
    for child in node.named_children:
        if child.type != "object_property":
            continue
        named = [c for c in child.named_children if c.type != "comment"]
        if len(named) == 1 and named[0].type == "resource_declaration":
            props.append(Prop(None, None, None, child, resource=named[0]))
            continue
        if not named:
            continue
        key_node, values = named[0], expr_children(child)[1:]
        key: str | None = None
        key_expr: Expr | None = None
        if key_node.type == "string":
            converted = _string(key_node)
            if isinstance(converted, Literal):
                key = converted.value
            else:
                key_expr = converted
        else:
            key = text(key_node)
        props.append(Prop(key, key_expr, values[0] if values else None, child))
    return Obj(node, tuple(props))


def _for(node: Node) -> For:
    names: list[str] = []
    iterable: Expr | None = None
    body: Expr | None = None
    condition: Expr | None = None
    seen_in = False
    for child in node.children:
        if child.type == "for_loop_parameters":
            names += [text(c) for c in child.named_children if c.type in ("loop_variable", "loop_enumerator")]
        elif child.type == "in":
            seen_in = True
        elif child.is_named and child.type != "comment":
            if not seen_in:
                names.append(text(child))
            elif iterable is None:
                iterable = to_expr(child)
            elif child.type == "if_statement":
                condition, body = _if(child)
            else:
                body = to_expr(child)
    assert iterable is not None, text(node)
    assert body is not None, text(node)
    return For(node, tuple(names), iterable, condition, body)


def _if(node: Node) -> tuple[Expr, Expr]:
    parts = [c for c in node.named_children if c.type != "comment"]
    return to_expr(parts[0]), to_expr(parts[1])


def to_expr(node: Node) -> Expr:
    kind = node.type
    if kind == "identifier":
        return Ident(node, text(node))
    if kind == "string":
        return _string(node)
    if kind == "object":
        return _object(node)
    if kind == "for_statement":
        return _for(node)
    if kind == "parenthesized_expression":
        inner = expr_children(node)
        return inner[0] if len(inner) == 1 else Group(node, tuple(inner))
    if kind == "member_expression":
        obj = to_expr(node.child_by_field_name("object") or node.named_children[0])
        if any(c.type == "!" for c in node.children):
            obj = _attach(obj, lambda e: NonNull(node, e))
        prop = text(node.child_by_field_name("property") or node.named_children[-1])
        safe = any(c.type == ".?" for c in node.children)
        return _attach(obj, lambda e: Member(node, e, prop, safe))
    if kind == "subscript_expression":
        obj_node = node.child_by_field_name("object")
        index_node = node.child_by_field_name("index")
        assert obj_node is not None, text(node)
        assert index_node is not None, text(node)
        index = to_expr(index_node)
        safe = any(c.type == "?" for c in node.children)
        return _attach(to_expr(obj_node), lambda e: Index(node, e, index, safe))
    if kind == "resource_expression":
        obj_node = node.child_by_field_name("object")
        child_node = node.child_by_field_name("resource")
        assert obj_node is not None, text(node)
        assert child_node is not None, text(node)
        return ChildAccess(node, to_expr(obj_node), text(child_node))
    if kind == "call_expression":
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        assert function is not None, text(node)
        args = tuple(expr_children(arguments)) if arguments is not None else ()
        if function.type == "member_expression":
            target_node = function.child_by_field_name("object")
            assert target_node is not None
            name = text(function.child_by_field_name("property") or function.named_children[-1])
            return _attach(to_expr(target_node), lambda e: Call(node, name, e, args))
        return Call(node, text(function), None, args)
    if kind == "lambda_expression":
        params_node = node.named_children[0]
        if params_node.type == "identifier":
            params: tuple[str, ...] = (text(params_node),)
        else:
            params = tuple(text(c) for c in params_node.named_children if c.type == "identifier")
        return Lambda(node, params, expr_children(node)[-1])
    if kind == "ternary_expression":
        condition, true, false = expr_children(node)
        if isinstance(condition, Lambda):
            return replace(condition, body=Ternary(node, condition.body, true, false))
        return Ternary(node, condition, true, false)
    if kind == "binary_expression":
        left, right = expr_children(node)
        op = text(node.child_by_field_name("operator") or node.children[1])
        if isinstance(left, Lambda):
            return replace(left, body=Binary(node, left.body, op, right))
        if isinstance(left, Ternary):
            return replace(left, false=Binary(node, left.false, op, right))
        return Binary(node, left, op, right)
    if kind == "unary_expression":
        operand = expr_children(node)[-1]
        return Unary(node, text(node.children[0]), operand)
    if not node.named_children:
        return Literal(node, text(node))
    return Group(node, tuple(expr_children(node)))


def subexpressions(expr: Expr) -> Iterator[Expr]:
    """The direct children of an expression."""
    if isinstance(expr, Group):
        yield from expr.parts
    elif isinstance(expr, Obj):
        for p in expr.props:
            if p.key_expr is not None:
                yield p.key_expr
            if p.value is not None:
                yield p.value
    elif isinstance(expr, Member | NonNull):
        yield expr.obj if isinstance(expr, Member) else expr.expr
    elif isinstance(expr, Index):
        yield from (expr.obj, expr.index)
    elif isinstance(expr, ChildAccess):
        yield expr.obj
    elif isinstance(expr, Call):
        if expr.target is not None:
            yield expr.target
        yield from expr.args
    elif isinstance(expr, Lambda):
        yield expr.body
    elif isinstance(expr, Ternary):
        yield from (expr.condition, expr.true, expr.false)
    elif isinstance(expr, Binary):
        yield from (expr.left, expr.right)
    elif isinstance(expr, Unary):
        yield expr.operand
    elif isinstance(expr, For):
        yield expr.iterable
        if expr.condition is not None:
            yield expr.condition
        yield expr.body


def bound_names(expr: Expr, child: Expr) -> tuple[str, ...]:
    """Names an expression binds for one of its children (loop and lambda variables)."""
    if isinstance(expr, For) and child is not expr.iterable:
        return expr.names
    if isinstance(expr, Lambda):
        return expr.params
    return ()


def walk(expr: Expr, scope: frozenset[str] = frozenset()) -> Iterator[tuple[Expr, frozenset[str]]]:
    """Every expression inside `expr`, with the local names in scope there."""
    yield expr, scope
    for child in subexpressions(expr):
        yield from walk(child, scope | set(bound_names(expr, child)))


# ------------------------------------------------------------------------------------------------
# Declarations of one file
# ------------------------------------------------------------------------------------------------


@dataclass
class Decl:
    kind: str  # param var resource module output type func import namespace
    name: str
    node: Node
    value: Expr | None = None
    decorators: str = ""
    type_text: str = ""
    has_default: bool = False
    existing: bool = False
    conditional: bool = False
    loop_names: tuple[str, ...] = ()
    body: Obj | None = None
    condition: Expr | None = None
    loop: For | None = None
    path: str | None = None
    parent: Decl | None = None
    children: list[Decl] = field(default_factory=list)
    func_params: tuple[str, ...] = ()


def _resource_or_module(kind: str, node: Node, decorators: str, parent: Decl | None) -> Decl:
    name = text(next(c for c in node.named_children if c.type == "identifier"))
    path_node = next(c for c in node.named_children if c.type == "string")
    decl = Decl(kind, name, node, decorators=decorators, parent=parent)
    decl.existing = any(c.type == "existing" for c in node.children)
    value_node = node.named_children[-1]
    if kind == "module":
        decl.path = text(path_node)[1:-1]
    value = to_expr(value_node) if value_node.type != "if_statement" else None
    if value_node.type == "if_statement":
        decl.condition, value = _if(value_node)
        decl.conditional = True
    if isinstance(value, For):
        decl.loop = value
        decl.loop_names = value.names
        decl.condition = value.condition
        decl.conditional = value.condition is not None
        value = value.body
    decl.value = value
    decl.body = value if isinstance(value, Obj) else None
    if decl.body is not None:
        for prop in decl.body.props:
            if prop.resource is not None:
                decl.children.append(_resource_or_module("resource", prop.resource, "", decl))
    return decl


@dataclass
class BicepFile:
    path: Path
    decls: list[Decl]

    def symbols(self) -> dict[str, Decl]:
        return {d.name: d for d in self.decls if d.kind != "output"}

    def of_kind(self, kind: str) -> list[Decl]:
        return [d for d in self.decls if d.kind == kind]

    def resources(self) -> Iterator[Decl]:
        stack = self.of_kind("resource")
        while stack:
            decl = stack.pop(0)
            yield decl
            stack = decl.children + stack


def read_decls(root: Node, path: Path) -> BicepFile:
    decls: list[Decl] = []
    decorators = ""
    for node in root.children:
        if node.type == "decorators":
            decorators = text(node)
            continue
        kind = node.type
        names = [c for c in node.named_children if c.type == "identifier"]
        if kind in ("parameter_declaration", "output_declaration"):
            decl_kind = "param" if kind == "parameter_declaration" else "output"
            type_node = next((c for c in node.named_children if c.type == "type"), None)
            has_default = any(c.type == "=" for c in node.children)
            values = [to_expr(c) for c in node.named_children[2:] if c.type not in ("type", "comment")]
            if any(c.type == "!" for c in node.children) and values:
                values[-1] = NonNull(node, values[-1])
            decls.append(
                Decl(
                    decl_kind,
                    text(names[0]),
                    node,
                    value=values[-1] if has_default and values else None,
                    decorators=decorators,
                    type_text=text(type_node) if type_node is not None else "",
                    has_default=has_default,
                )
            )
        elif kind == "variable_declaration":
            values = expr_children(node)[1:]
            decls.append(Decl("var", text(names[0]), node, value=values[-1], decorators=decorators))
        elif kind in ("resource_declaration", "module_declaration"):
            decls.append(_resource_or_module(kind.split("_")[0], node, decorators, None))
        elif kind == "type_declaration":
            decls.append(Decl("type", text(names[0]), node, decorators=decorators))
        elif kind == "user_defined_function":
            params_node = next(c for c in node.named_children if c.type == "parameters")
            params = tuple(
                text(next(i for i in p.named_children if i.type == "identifier"))
                for p in params_node.named_children
                if p.type == "parameter"
            )
            body = [c for c in node.named_children if c.type not in ("identifier", "parameters", "type")]
            decls.append(Decl("func", text(names[0]), node, value=to_expr(body[-1]), func_params=params))
        elif kind == "import_functionality":
            source = next(c for c in node.named_children if c.type == "string")
            wildcard = any(c.type == "*" for c in node.children)
            idents = [text(c) for c in names]
            if wildcard:
                decls.append(Decl("namespace", idents[-1], node, path=text(source)[1:-1]))
            else:
                # `a` or `a as b`: the alias is the symbol.
                tokens = [c for c in node.children if c.type in ("identifier", "as", ",", "}")]
                symbols: list[tuple[str, str]] = []
                for i, token in enumerate(tokens):
                    if token.type != "identifier" or (i and tokens[i - 1].type == "as"):
                        continue
                    alias = (
                        text(tokens[i + 2]) if i + 2 < len(tokens) and tokens[i + 1].type == "as" else None
                    )
                    symbols.append((text(token), alias or text(token)))
                for original, alias in symbols:
                    decls.append(Decl("import", alias, node, path=text(source)[1:-1], type_text=original))
        if kind != "comment":
            decorators = ""
    return BicepFile(path, decls)


@cache
def load(path: Path) -> BicepFile:
    return read_decls(parse(bicep_source(path)), path)


# ------------------------------------------------------------------------------------------------
# Deploy-time constants
# ------------------------------------------------------------------------------------------------


class Constness:
    """Why an expression is not known at the start of the deployment (None when it is)."""

    def __init__(self, file: BicepFile) -> None:
        self.symbols = file.symbols()
        for decl in file.resources():
            self.symbols.setdefault(decl.name, decl)
        self._vars: dict[str, str | None] = {}
        self._active: set[str] = set()

    def reason(self, expr: Expr, local: frozenset[str] = frozenset()) -> str | None:
        if isinstance(expr, Ident):
            if expr.name in local:
                return None
            decl = self.symbols.get(expr.name)
            if decl is not None and decl.kind == "var":
                return self._var(decl)
            return None
        if isinstance(expr, Member | Index | Call) and (root := self._root_symbol(expr, local)) is not None:
            return self._symbol_access(expr, root, local)
        if isinstance(expr, Call) and expr.target is None and is_runtime_function(expr.name):
            return f"{expr.name}()"
        if isinstance(expr, Call) and expr.target is not None and expr.name.startswith(("list", "getSecret")):
            return f"{text(expr.node)}"
        for child in subexpressions(expr):
            why = self.reason(child, local | set(bound_names(expr, child)))
            if why is not None:
                return why
        return None

    def _var(self, decl: Decl) -> str | None:
        if decl.name in self._vars:
            return self._vars[decl.name]
        if decl.name in self._active or decl.value is None:
            return None
        self._active.add(decl.name)
        why = self.reason(decl.value)
        self._active.discard(decl.name)
        result = None if why is None else f"{decl.name} -> {why}"
        self._vars[decl.name] = result
        return result

    def _root_symbol(self, expr: Expr, local: frozenset[str]) -> Decl | None:
        """The resource or module whose member this access reads, if any."""
        obj = (
            expr.obj if isinstance(expr, Member | Index) else expr.target if isinstance(expr, Call) else None
        )
        while isinstance(obj, NonNull | Index | ChildAccess):
            if isinstance(obj, ChildAccess):
                parent = self._decl_of(obj.obj, local)
                return next((c for c in parent.children if c.name == obj.child), None) if parent else None
            obj = obj.expr if isinstance(obj, NonNull) else obj.obj
        return self._decl_of(obj, local) if obj is not None else None

    def _decl_of(self, obj: Expr, local: frozenset[str]) -> Decl | None:
        while isinstance(obj, NonNull | Index):
            obj = obj.expr if isinstance(obj, NonNull) else obj.obj
        if isinstance(obj, Ident) and obj.name not in local:
            decl = self.symbols.get(obj.name)
            if decl is not None and decl.kind in ("resource", "module"):
                return decl
        return None

    def _symbol_access(self, expr: Member | Index | Call, decl: Decl, local: frozenset[str]) -> str | None:
        if isinstance(expr, Call):
            return text(expr.node)
        index_why = self.reason(expr.index, local) if isinstance(expr, Index) else None
        if index_why is not None:
            return index_why
        if isinstance(expr, Index):
            return None  # one resource or module of a collection, as a reference
        prop = expr.prop
        allowed = MODULE_START_PROPERTIES if decl.kind == "module" else RESOURCE_START_PROPERTIES
        if prop not in allowed:
            return f"{decl.name}.{prop}"
        name = decl.body.get("name") if decl.body is not None else None
        if decl.kind == "resource" and name is not None:
            why = self.reason(name, frozenset(decl.loop_names))
            if why is not None:
                return f"{decl.name}.{prop} -> {why}"
        return None


# ------------------------------------------------------------------------------------------------
# The rules
# ------------------------------------------------------------------------------------------------


class Checker:
    def __init__(self, file: BicepFile, label: str) -> None:
        self.file = file
        self.label = label
        self.constness = Constness(file)
        self.problems: list[Problem] = []

    def report(self, code: str, node: Node, message: str) -> None:
        line, column = node.start_point
        self.problems.append(Problem(code, self.label, line + 1, column + 1, message))

    def roots(self) -> Iterator[tuple[Expr, frozenset[str], Decl]]:
        """Every top-level expression of the file, with the local names in scope."""
        for decl in self.file.decls:
            if decl.kind in ("param", "var", "output") and decl.value is not None:
                yield decl.value, frozenset(), decl
            elif decl.kind == "func" and decl.value is not None:
                yield decl.value, frozenset(decl.func_params), decl
        for decl in [*self.file.resources(), *self.file.of_kind("module")]:
            local = frozenset(decl.loop_names)
            parent = decl.parent
            while parent is not None:
                local |= set(parent.loop_names) | {c.name for c in parent.children}
                parent = parent.parent
            local |= {c.name for c in decl.children}
            if decl.loop is not None:
                yield decl.loop.iterable, local - set(decl.loop_names), decl
            if decl.condition is not None:
                yield decl.condition, local, decl
            if decl.value is not None:
                yield decl.value, local, decl

    def check(self) -> list[Problem]:
        self.duplicates()
        self.deploy_time_constants()
        self.names()
        self.conditional_access()
        self.loop_names()
        self.parameters()
        self.placement()
        return self.problems

    # BCP138, BCP142, BCP242, BCP247, BCP248
    def placement(self) -> None:
        for root, local, decl in self.roots():
            in_body = decl.kind in ("resource", "module") and root is decl.value
            self._placement(root, None, local, frozenset(), in_body, inside_for=False)

    def _placement(
        self,
        expr: Expr,
        parent: Expr | None,
        scope: frozenset[str],
        lambdas: frozenset[str],
        in_body: bool,
        inside_for: bool,
    ) -> None:
        if isinstance(expr, For) and parent is not None:
            if not in_body or not isinstance(parent, Obj):
                self.report(
                    "BCP138",
                    expr.node,
                    "For-expressions are not supported in this context: they may be the value of a "
                    "resource, module, variable or output declaration, or of a resource or module property.",
                )
            elif inside_for:
                self.report("BCP142", expr.node, "Property value for-expressions cannot be nested.")
        if isinstance(expr, Lambda) and not (isinstance(parent, Call) and parent.name in LAMBDA_FUNCTIONS):
            self.report(
                "BCP242",
                expr.node,
                "Lambda functions may only be specified directly as arguments of "
                f"{', '.join(sorted(LAMBDA_FUNCTIONS))}.",
            )
        if isinstance(expr, Index) and lambdas and self.constness._decl_of(expr.obj, scope - lambdas):
            used = self._names_in(expr.index) & lambdas
            if used:
                self.report(
                    "BCP247",
                    expr.node,
                    "Using lambda variables inside resource or module array access is not supported "
                    f"({', '.join(sorted(used))}).",
                )
        if isinstance(expr, Call) and lambdas and (is_runtime_function(expr.name) or expr.target is not None):
            runtime = expr.name in ("reference",) or expr.name.startswith("list")
            used = set().union(*(self._names_in(a) for a in expr.args)) & lambdas if runtime else set()
            if used:
                self.report(
                    "BCP248",
                    expr.node,
                    f'Using lambda variables inside the "{expr.name}" function is not supported '
                    f"({', '.join(sorted(used))}).",
                )
        for child in subexpressions(expr):
            names = set(bound_names(expr, child))
            self._placement(
                child,
                expr,
                scope | names,
                lambdas | names if isinstance(expr, Lambda) else lambdas,
                in_body,
                inside_for or (isinstance(expr, For) and parent is not None),
            )

    @staticmethod
    def _names_in(expr: Expr) -> set[str]:
        return {e.name for e, _ in walk(expr) if isinstance(e, Ident)}

    # BCP028, BCP145, BCP025
    def duplicates(self) -> None:
        seen: dict[tuple[bool, str], Decl] = {}
        for decl in self.file.decls:
            key = (decl.kind == "output", decl.name)
            if key in seen:
                code = "BCP145" if decl.kind == "output" else "BCP028"
                what = "Output" if decl.kind == "output" else "Identifier"
                self.report(code, decl.node, f'{what} "{decl.name}" is declared multiple times.')
            seen[key] = decl
        for root, _, _ in self.roots():
            for expr, _ in walk(root):
                if isinstance(expr, Obj):
                    keys: set[str] = set()
                    for prop in expr.props:
                        if prop.key is None:
                            continue
                        if prop.key.lower() in keys:
                            self.report(
                                "BCP025", prop.node, f'The property "{prop.key}" is declared multiple times.'
                            )
                        keys.add(prop.key.lower())

    # BCP178, BCP177, BCP120, BCP182, BCP341
    def deploy_time_constants(self) -> None:
        why: str | None
        for root, local, _ in self.roots():
            for expr, scope in walk(root, local):
                if isinstance(expr, For) and (why := self.constness.reason(expr.iterable, scope)):
                    self.report(
                        "BCP178",
                        expr.iterable.node,
                        "This expression is being used in the for-expression, which requires a value that "
                        f"can be calculated at the start of the deployment ({why}).",
                    )
        for decl in [*self.file.resources(), *self.file.of_kind("module")]:
            local = frozenset(decl.loop_names)
            if decl.condition is not None and (why := self.constness.reason(decl.condition, local)):
                self.report(
                    "BCP177",
                    decl.condition.node,
                    "This expression is being used in the if-condition expression, which requires a value "
                    f"that can be calculated at the start of the deployment ({why}).",
                )
            checked = ("name", "scope") if decl.kind == "module" else ("name", "scope", "parent")
            for prop in decl.body.props if decl.body is not None else ():
                if prop.key not in checked or prop.value is None:
                    continue
                if decl.existing and prop.key == "name":
                    continue  # an existing resource may be named at run time (its members then are not)
                if why := self.constness.reason(prop.value, local):
                    self.report(
                        "BCP120",
                        prop.value.node,
                        f'This expression is being used in an assignment to the "{prop.key}" property of '
                        f"{decl.kind} {decl.name}, which requires a value that can be calculated at the "
                        f"start of the deployment ({why}).",
                    )
        for decl in self.file.of_kind("var"):
            if isinstance(decl.value, For) and (
                why := self.constness.reason(decl.value.body, frozenset(decl.value.names))
            ):
                self.report(
                    "BCP182",
                    decl.value.body.node,
                    f"This expression is being used in the for-body of the variable {decl.name}, which "
                    f"requires values that can be calculated at the start of the deployment ({why}).",
                )
        for decl in self.file.of_kind("func"):
            if decl.value is not None and (
                why := self.constness.reason(decl.value, frozenset(decl.func_params))
            ):
                self.report(
                    "BCP341",
                    decl.value.node,
                    "This expression is being used inside a function declaration, which requires a value "
                    f"that can be calculated at the start of the deployment ({why}).",
                )

    # BCP057
    def names(self) -> None:
        symbols = set(self.file.symbols())
        for root, local, _ in self.roots():
            for expr, scope in walk(root, local):
                unknown = isinstance(expr, Ident) and expr.name not in scope | symbols | NAMESPACES
                if isinstance(expr, Call) and expr.target is None and not is_function(expr.name):
                    decl = self.constness.symbols.get(expr.name)
                    unknown = decl is None or decl.kind not in ("func", "import")
                if unknown and isinstance(expr, Ident | Call):
                    message = f'The name "{expr.name}" does not exist in the current context.'
                    self.report("BCP057", expr.node, message)

    # BCP318
    def conditional_access(self) -> None:
        for root, local, _ in self.roots():
            for expr, scope in walk(root, local):
                if not isinstance(expr, Member) or expr.safe:
                    continue
                obj = expr.obj
                if isinstance(obj, Index):
                    obj = obj.obj
                if not isinstance(obj, Ident) or obj.name in scope:
                    continue
                decl = self.constness.symbols.get(obj.name)
                if decl is None or not decl.conditional or decl.kind not in ("resource", "module"):
                    continue
                allowed = MODULE_START_PROPERTIES if decl.kind == "module" else RESOURCE_START_PROPERTIES
                if expr.prop not in allowed:
                    self.report(
                        "BCP318",
                        expr.node,
                        f"The value of {decl.kind} {decl.name} may be null at the start of the deployment "
                        f"(its if-condition may be false): read {decl.name}!.{expr.prop} or "
                        f"{decl.name}.?{expr.prop}.",
                    )

    # BCP179
    def loop_names(self) -> None:
        for decl in [*self.file.resources(), *self.file.of_kind("module")]:
            if decl.loop is None or decl.body is None or decl.body.get("name") is None:
                continue
            used = {
                e.name
                for key in ("name", "parent", "scope")
                if (value := decl.body.get(key)) is not None
                for e, _ in walk(value)
                if isinstance(e, Ident)
            }
            if not used & set(decl.loop_names):
                self.report(
                    "BCP179",
                    decl.node,
                    f"Unique resource or deployment name is required when looping: {decl.name}'s name, "
                    f"parent or scope must use {' or '.join(decl.loop_names)}.",
                )

    # BCP326, BCP327, BCP328
    def parameters(self) -> None:
        for decl in self.file.of_kind("param"):
            if decl.type_text.endswith("?") and decl.has_default:
                self.report(
                    "BCP326",
                    decl.node,
                    f"Nullable-typed parameter {decl.name} may not be assigned a default.",
                )
            if isinstance(decl.value, Literal):
                self.int_in_range(decl.value, decl.decorators, decl.name)

    def int_in_range(self, value: Expr, decorators: str, name: str) -> None:
        if not isinstance(value, Literal) or not re.fullmatch(r"-?\d+", value.value):
            return
        number = int(value.value)
        low, high = MIN_VALUE.search(decorators), MAX_VALUE.search(decorators)
        if low and number < int(low.group(1)):
            self.report("BCP328", value.node, f"{number} is below the minimum {low.group(1)} of {name}.")
        if high and number > int(high.group(1)):
            self.report("BCP327", value.node, f"{number} is above the maximum {high.group(1)} of {name}.")


def check_modules(checker: Checker) -> None:
    """BCP091, BCP035, BCP037, BCP053, BCP360, BCP327/BCP328 across a file and what it references."""
    file = checker.file
    targets: dict[str, BicepFile] = {}
    for decl in file.decls:
        if decl.kind not in ("module", "import", "namespace") or decl.path is None:
            continue
        if ":" in decl.path:
            continue  # a registry or template spec reference
        target_path = (file.path.parent / decl.path).resolve()
        if not target_path.is_file():
            checker.report("BCP091", decl.node, f"An error occurred reading file {decl.path}: not found.")
            continue
        target = load(target_path)
        if decl.kind == "import":
            exported = {d.name for d in target.decls if d.kind != "output" and "@export()" in d.decorators}
            if decl.type_text not in exported:
                checker.report(
                    "BCP360",
                    decl.node,
                    f'The "{decl.type_text}" symbol was not found in (or was not exported by) the imported '
                    "template.",
                )
            continue
        if decl.kind != "module":
            continue
        targets[decl.name] = target
        params = {d.name: d for d in target.of_kind("param")}
        given = decl.body.get("params") if decl.body is not None else None
        if isinstance(given, Obj):
            keys = {p.key for p in given.props if p.key is not None}
            missing = sorted(
                n
                for n, d in params.items()
                if not d.has_default and not d.type_text.endswith("?") and n not in keys
            )
            if missing:
                checker.report(
                    "BCP035",
                    given.node,
                    f"Module {decl.name} is missing the following required parameters: {', '.join(missing)}.",
                )
            for prop in given.props:
                if prop.key is not None and prop.key not in params:
                    checker.report(
                        "BCP037",
                        prop.node,
                        f'The property "{prop.key}" is not allowed on the params of {decl.path}.',
                    )
                elif prop.key is not None and prop.value is not None:
                    checker.int_in_range(prop.value, params[prop.key].decorators, f"{decl.path}:{prop.key}")
    outputs = {name: {d.name for d in target.of_kind("output")} for name, target in targets.items()}
    for root, local, _ in checker.roots():
        for expr, scope in walk(root, local):
            if not isinstance(expr, Member) or not isinstance(expr.obj, Member) or expr.obj.prop != "outputs":
                continue
            base = expr.obj.obj
            while isinstance(base, NonNull | Index):
                base = base.expr if isinstance(base, NonNull) else base.obj
            if not isinstance(base, Ident) or base.name in scope:
                continue
            known = outputs.get(base.name)
            if known is not None and expr.prop not in known:
                checker.report(
                    "BCP053",
                    expr.node,
                    f'The outputs of module {base.name} do not contain "{expr.prop}". Available: '
                    f"{', '.join(sorted(known))}.",
                )


def check_file(path: Path, label: str | None = None) -> list[Problem]:
    """Every rule above, for one .bicep file (and the files it references); a syntax error first."""
    root = parse(bicep_source(path))
    if root.has_error:
        return [Problem("syntax", label or path.name, 1, 1, "; ".join(syntax_problems(root)))]
    checker = Checker(load(path.resolve()), label or path.name)
    checker.check()
    check_modules(checker)
    return sorted(checker.problems, key=lambda p: (p.line, p.column, p.code))


def check_source(source: str, directory: Path, name: str = "snippet.bicep") -> list[Problem]:
    """The rules for Bicep source text, as if it were the file `name` in `directory` (for tests)."""
    checker = Checker(read_decls(parse(source.encode()), directory / name), name)
    checker.check()
    check_modules(checker)
    return sorted(checker.problems, key=lambda p: (p.line, p.column, p.code))


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]
