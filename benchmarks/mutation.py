"""A small mutation runner (`make mutation`, by hand, not in CI).

One classic mutation at a time: a comparison flipped, `and`/`or` swapped, a constant changed, a
`raise` removed, an early `return None` at the top of a function. Each mutant is written into a
throw-away copy of the repository (`git archive HEAD`, so the work tree is never touched) and the
tests that cover the module run against it; a mutant is killed when they fail.

    python benchmarks/mutation.py devstack/entra/assertions.py tests/devstack/entra [--budget-s 600]

mutmut 3 needs its own `mutants/` tree and trampolines every function, which clashes with the
devstack's threads and subprocesses; this runner trades its speed-ups for being obvious.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    line: int
    description: str
    source: str


def _constant(value: object) -> object | None:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str) and value:
        return value + "X"
    return None


def mutants(source: str) -> Iterator[Mutant]:
    """Every single-point mutant of `source` (docstrings left alone)."""
    tree = ast.parse(source)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    nodes = list(ast.walk(tree))
    for index, node in enumerate(nodes):
        for description, apply in _mutations_of(node, docstrings):
            mutated = copy.deepcopy(tree)
            target = list(ast.walk(mutated))[index]
            apply(target)
            ast.fix_missing_locations(mutated)
            yield Mutant(getattr(node, "lineno", 0), description, ast.unparse(mutated))


def _mutations_of(node: ast.AST, docstrings: set[int]) -> Iterator[tuple[str, Callable[[ast.AST], None]]]:
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in FLIP:

                def flip(t: ast.AST, i: int = i) -> None:
                    assert isinstance(t, ast.Compare)
                    t.ops[i] = FLIP[type(t.ops[i])]()

                yield f"{type(op).__name__} flipped", flip
    elif isinstance(node, ast.BoolOp):

        def swap(t: ast.AST) -> None:
            assert isinstance(t, ast.BoolOp)
            t.op = ast.Or() if isinstance(t.op, ast.And) else ast.And()

        yield f"{type(node.op).__name__.lower()} swapped", swap
    elif isinstance(node, ast.Constant) and id(node) not in docstrings:
        new = _constant(node.value)
        if new is not None:

            def change(t: ast.AST, new: object = new) -> None:
                assert isinstance(t, ast.Constant)
                t.value = new  # type: ignore[assignment]  # _constant keeps the literal kinds

            yield f"constant {node.value!r} -> {new!r}", change
    elif isinstance(node, ast.Raise):

        def drop(t: ast.AST) -> None:
            t.__class__ = ast.Pass
            for field in ("exc", "cause"):
                if hasattr(t, field):
                    delattr(t, field)

        yield "raise removed", drop
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):

        def early(t: ast.AST) -> None:
            assert isinstance(t, ast.FunctionDef | ast.AsyncFunctionDef)
            start = 1 if t.body and t.body[0] is not None and _is_docstring(t.body[0]) else 0
            t.body.insert(start, ast.Return(value=ast.Constant(value=None)))

        yield f"early return None in {node.name}", early


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _run_tests(tree: Path, tests: list[str], timeout_s: int) -> bool:
    """True when the tests pass (the mutant survived)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(cmd, cwd=tree, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return False  # a hang counts as killed (the tests noticed something)
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="the module to mutate, relative to the repository")
    parser.add_argument("tests", nargs="+", help="the tests that cover it")
    parser.add_argument("--budget-s", type=int, default=3600, help="stop starting mutants after this")
    parser.add_argument("--timeout-s", type=int, default=600, help="per mutant")
    args = parser.parse_args()
    started = time.monotonic()
    source = (ROOT / args.module).read_text()
    everyone = list(mutants(source))
    killed: list[Mutant] = []
    survived: list[Mutant] = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree = Path(tmp) / "repo"
        tree.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        target = tree / args.module
        target.write_text(source)
        if not _run_tests(tree, args.tests, args.timeout_s):
            print("the tests fail without any mutation: fix them first", file=sys.stderr)
            return 2
        for n, mutant in enumerate(everyone, 1):
            if time.monotonic() - started > args.budget_s:
                print(f"budget spent after {n - 1} of {len(everyone)} mutants")
                break
            target.write_text(mutant.source)
            (killed if not _run_tests(tree, args.tests, args.timeout_s) else survived).append(mutant)
            print(
                f"[{n}/{len(everyone)}] line {mutant.line}: {mutant.description}: "
                f"{'killed' if mutant in killed else 'SURVIVED'}",
                flush=True,
            )
        target.write_text(source)
        shutil.rmtree(tree / ".pytest_cache", ignore_errors=True)
    tried = len(killed) + len(survived)
    score = 100.0 * len(killed) / tried if tried else 0.0
    print(f"{args.module}: {len(killed)}/{tried} killed ({score:.0f} %), {len(everyone)} mutants in all")
    for m in survived:
        print(f"  survived: line {m.line}: {m.description}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
