"""Reading the Bicep in infra/ with tree-sitter-bicep: paths, parsing, node text (shared by tests/infra)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# tree-sitter-bicep 1.1.0 (the newest on PyPI) predates the `extension` keyword, which replaced
# `provider`/`import 'name@version'`: the statement is read in its older spelling, line by line.
EXTENSION_STATEMENT = re.compile(rb"^extension (\w+)[ \t]*$", re.MULTILINE)


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def rel(path: Path) -> str:
    return path.relative_to(INFRA).as_posix() if path.is_relative_to(INFRA) else path.name


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bicep.language()))


def parse(source: bytes) -> Node:
    return _parser().parse(source).root_node


def bicep_source(path: Path) -> bytes:
    return EXTENSION_STATEMENT.sub(rb"provider '\1'", path.read_bytes())


def tree(path: Path) -> Node:
    return parse(bicep_source(path))


def text(node: Node) -> str:
    return (node.text or b"").decode()


def syntax_problems(node: Node) -> Iterator[str]:
    if node.is_error or node.is_missing:
        line, column = node.start_point
        kind = "MISSING" if node.is_missing else "ERROR"
        yield f"{kind} at {line + 1}:{column + 1}: {text(node)[:80]!r}"
    for child in node.children:
        yield from syntax_problems(child)
