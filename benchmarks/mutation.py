"""A small mutation runner (`make mutation`, by hand, not in CI).

One classic mutation at a time: a comparison flipped, `and`/`or` swapped, a constant changed, a
`raise` removed, an early `return None` at the top of a function. Each mutant is written into a
throw-away copy of the repository (the files git knows, committed or not, so the work tree is
never touched) and only the tests that execute the mutated line run against it, fastest first,
stopping at the first failure; a mutant is killed when one fails.

    python benchmarks/mutation.py                                  # every module below
    python benchmarks/mutation.py --module shared/http.py          # one of them
    python benchmarks/mutation.py --module shared/http.py --line 42  # mutants of one line

Speed, on a shared 2-core machine (the runner renices itself to 19):
- one baseline run per module under coverage.py, with one coverage context per test, gives the
  tests that execute each line; a mutant on a line no test executes is not run and is reported
  as a survivor ("no test runs it");
- the runner imports the heavy third-party packages once and forks a child per mutant, so a
  mutant pays for the project's imports and fixtures only, not pytest's or the SDKs';
- a mutant whose tests outlive `--timeout-s` is killed and counted apart ("timeout": the tests
  noticed, by hanging).

mutmut 3 needs its own `mutants/` tree and trampolines every function, which clashes with the
devstack's threads and subprocesses; this runner stays obvious instead.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Module (a file or a package) -> the tests that may cover it; coverage narrows them per line.
MODULES: dict[str, list[str]] = {
    "devstack/entra/assertions.py": ["tests/devstack/entra", "tests/devstack/test_entra.py"],
    "shared/identity/_certificate_material.py": ["tests/app/identity"],
    "shared/config": ["tests/app/config", "tests/app/test_clouds.py", "tests/app/identity/test_face.py"],
    "shared/http.py": ["tests/app/test_http.py", "tests/app/identity/test_retries.py"],
    "shared/identity/_rotation.py": [
        "tests/app/identity/test_rotation.py",
        "tests/app/identity/test_connections.py",
        "tests/app/jobs/test_certificate_rotation.py",
    ],
}

# Imported once by the runner, inherited by every forked child. Third-party only: a project
# module imported here would be the unmutated one in every child.
PRELOAD = (
    "pytest",
    "_pytest.python",
    "pytest_timeout",
    "pytest_randomly",
    "hypothesis",
    "hypothesis.strategies",
    "_pytest.fixtures",
    "cryptography.x509",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "cryptography.hazmat.primitives.serialization.pkcs12",
    "jwt",
    "requests",
    "urllib3",
    "werkzeug.serving",
    "werkzeug.wrappers",
    "msal",
    "azure.core.pipeline",
    "azure.identity",
    "azure.keyvault.secrets",
    "azure.keyvault.certificates",
    "azure.keyvault.keys",
    "azure.keyvault.keys.crypto",
    "azure.functions",
    "trustme",
    "coverage",
)

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
    path: str
    line: int  # where the mutation is, for the report
    description: str
    source: str
    runs_on: tuple[int, ...] = ()  # a test that executes one of these lines executes the mutant


@dataclass
class Score:
    module: str
    killed: list[Mutant] = field(default_factory=list)
    timeout: list[Mutant] = field(default_factory=list)
    survived: list[Mutant] = field(default_factory=list)
    uncovered: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return len(self.killed) + len(self.timeout) + len(self.survived) + len(self.uncovered)

    @property
    def percent(self) -> float:
        return 100.0 * (len(self.killed) + len(self.timeout)) / self.total if self.total else 0.0


def _constant(value: object) -> object | None:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str) and value:
        return value + "X"
    return None


def mutants(path: str, source: str) -> Iterator[Mutant]:
    """Every single-point mutant of `source` (docstrings and `TYPE_CHECKING` blocks left alone)."""
    tree = ast.parse(source)
    skipped = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    for n in ast.walk(tree):
        if isinstance(n, ast.If) and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING":
            skipped |= {id(m) for m in ast.walk(n)}
        # `__all__` only matters to `import *`, which the repository never does.
        if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets
        ):
            skipped |= {id(m) for m in ast.walk(n)}
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "cast":
            skipped |= {id(m) for m in ast.walk(n.args[0])} if n.args else set()
    enclosing = _enclosing_statements(tree)
    nodes = list(ast.walk(tree))
    for index, node in enumerate(nodes):
        if id(node) in skipped:
            continue
        for description, apply in _mutations_of(node):
            mutated = copy.deepcopy(tree)
            target = list(ast.walk(mutated))[index]
            apply(target)
            ast.fix_missing_locations(mutated)
            line = int(getattr(node, "lineno", 0))
            yield Mutant(
                path, line, description, ast.unparse(mutated), _runs_on(node, enclosing.get(id(node)))
            )


def _enclosing_statements(tree: ast.AST) -> dict[int, ast.AST]:
    """id(node) -> the innermost statement (or `except` clause) holding it."""
    found: dict[int, ast.AST] = {}

    def visit(node: ast.AST, holder: ast.AST | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt | ast.excepthandler):
                found[id(child)] = child
                visit(child, child)
            else:
                if holder is not None:
                    found[id(child)] = holder
                visit(child, holder)

    visit(tree, None)
    return found


def _runs_on(node: ast.AST, holder: ast.AST | None) -> tuple[int, ...]:
    """The lines coverage may report for the code holding `node`: the lines of a simple statement
    (a multi-line call reports some of them, not always the constant's), a compound statement's
    header, a function's first statement that runs (not `def`, which runs at import)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return (_line_of(node),)
    if holder is None:
        return (int(getattr(node, "lineno", 0)),)
    start = int(getattr(holder, "lineno", 0))
    body = getattr(holder, "body", None)
    if isinstance(body, list) and body:
        end = max(int(getattr(node, "end_lineno", start) or start), start)
    else:
        end = int(getattr(holder, "end_lineno", start) or start)
    return tuple(range(start, end + 1))


def _line_of(node: ast.AST) -> int:
    """The line whose execution means the mutant runs (a function's first statement, not `def`)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        # `global x` and a bare `x: T` compile to no code: coverage never sees their lines.
        runs = [
            s
            for s in node.body
            if not _is_docstring(s)
            and not isinstance(s, ast.Global | ast.Nonlocal)
            and not (isinstance(s, ast.AnnAssign) and s.value is None)
        ]
        return (runs or node.body)[0].lineno
    return int(getattr(node, "lineno", 0))


def _mutations_of(node: ast.AST) -> Iterator[tuple[str, Callable[[ast.AST], None]]]:
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
    elif isinstance(node, ast.Constant):
        new = _constant(node.value)
        if new is not None:

            def change(t: ast.AST, new: object = new) -> None:
                assert isinstance(t, ast.Constant)
                t.value = new  # type: ignore[assignment]  # _constant keeps the literal kinds

            yield f"constant {node.value!r} -> {new!r}", change
    elif isinstance(node, ast.Raise):

        def drop(t: ast.AST) -> None:
            t.__class__ = ast.Pass
            for name in ("exc", "cause"):
                if hasattr(t, name):
                    delattr(t, name)

        yield "raise removed", drop
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):

        def early(t: ast.AST) -> None:
            assert isinstance(t, ast.FunctionDef | ast.AsyncFunctionDef)
            start = 1 if t.body and _is_docstring(t.body[0]) else 0
            t.body.insert(start, ast.Return(value=ast.Constant(value=None)))

        yield f"early return None in {node.name}", early


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


# -- running pytest in a forked child ------------------------------------------------


class _Contexts:
    """A pytest plugin: one coverage context per test, and each test's duration."""

    def __init__(self, cov: Any) -> None:
        self.cov = cov
        self.durations: dict[str, float] = {}

    def pytest_runtest_setup(self, item: Any) -> None:
        self.cov.switch_context(item.nodeid)

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration


def _child(tree: Path, args: list[str], log: Path, coverage_of: list[Path] | None, out: Path | None) -> None:
    """In the forked child: run pytest in `tree`, exit with its status (never returns)."""
    status = 3
    try:
        os.setpgid(0, 0)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(tree)
        sys.path.insert(0, str(tree))
        import pytest

        if coverage_of is None:
            status = int(pytest.main(args))
        else:
            import coverage

            cov = coverage.Coverage(data_file=None, include=[str(p) for p in coverage_of], branch=False)
            plugin = _Contexts(cov)
            cov.start()
            status = int(pytest.main(args, plugins=[plugin]))
            cov.stop()
            data = cov.get_data()
            lines: dict[str, dict[int, list[str]]] = {}
            for measured in data.measured_files():
                lines[measured] = {n: sorted(c) for n, c in data.contexts_by_lineno(measured).items()}
            assert out is not None
            out.write_text(json.dumps({"lines": lines, "durations": plugin.durations}))
    except BaseException as exc:  # noqa: BLE001 - the child reports anything as a failure status
        with contextlib.suppress(Exception):
            print(f"mutation child: {exc!r}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _run(tree: Path, args: list[str], timeout_s: float, log: Path, **kw: Any) -> str:
    """'passed', 'failed' or 'timeout'."""
    pid = os.fork()
    if pid == 0:
        _child(tree, args, log, kw.get("coverage_of"), kw.get("out"))
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "passed" if os.waitstatus_to_exitcode(status) == 0 else "failed"
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # the child's own process group (it set it)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)


# `--assert=plain`: rewriting every test module and plugin again costs a child more than most
# tests do; a failing plain `assert` still fails the test. The schemathesis and anyio plugins are
# for tests none of these modules runs. The preloaded plugins cannot be rewritten again: pytest
# says so, harmlessly.
PYTEST = [
    *("-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-o", "addopts=", "--timeout=120"),
    *("--assert=plain", "-p", "no:schemathesis", "-p", "no:anyio", "-p", "no:unraisableexception"),
    *("-W", "ignore::pytest.PytestAssertRewriteWarning"),
]


def _copy_tree(dest: Path) -> None:
    """The files git knows (committed or not, deleted ones left out) into `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if not src.is_file() or src.is_symlink():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.read_bytes())
    for link in (".venv", ".venv-checkov", "node_modules"):
        if (ROOT / link).exists():
            (dest / link).symlink_to((ROOT / link).resolve())


def _files_of(module: str) -> list[str]:
    path = ROOT / module
    if path.is_dir():
        return sorted(str(p.relative_to(ROOT)) for p in path.glob("*.py"))
    return [module]


def score_module(module: str, tests: list[str], tree: Path, args: argparse.Namespace) -> Score:
    started = time.monotonic()
    score = Score(module)
    files = _files_of(module)
    work = Path(tempfile.mkdtemp(prefix="mutation-logs-"))
    cover = work / "coverage.json"
    state = _run(
        tree,
        [*PYTEST, *tests],
        args.baseline_timeout_s,
        work / "baseline.log",
        coverage_of=[tree / f for f in files],
        out=cover,
    )
    if state != "passed" or not cover.exists():
        print(f"{module}: the tests fail without any mutation ({state}); see {work / 'baseline.log'}")
        return score
    measured = json.loads(cover.read_text())
    durations: dict[str, float] = measured["durations"]
    print(f"{module}: baseline {time.monotonic() - started:.0f} s, {len(durations)} tests", flush=True)
    for rel in files:
        covering = measured["lines"].get(str(tree / rel), {})
        original = (tree / rel).read_text()
        everyone = [m for m in mutants(rel, original) if args.line is None or m.line == args.line]
        for n, mutant in enumerate(everyone, 1):
            contexts = {c for n in mutant.runs_on for c in covering.get(str(n), [])}
            # "" is import time (collection), before any test: every test of the module runs it.
            found = set(durations) if "" in contexts else contexts
            nodeids = sorted(found, key=lambda t: durations.get(t, 0.0))
            if not nodeids:
                score.uncovered.append(mutant)
                state = "no test runs it"
            else:
                (tree / rel).write_text(mutant.source)
                try:
                    state = _run(tree, [*PYTEST, *nodeids], args.timeout_s, work / "mutant.log")
                finally:
                    (tree / rel).write_text(original)
                {"failed": score.killed, "timeout": score.timeout, "passed": score.survived}[state].append(
                    mutant
                )
            if args.verbose or state in ("passed", "timeout"):
                shown = "SURVIVED" if state == "passed" else state
                print(
                    f"  [{n}/{len(everyone)}] {rel}:{mutant.line}: {mutant.description}: {shown}", flush=True
                )
    score.seconds = time.monotonic() - started
    return score


def _report(scores: list[Score]) -> None:
    print()
    print("| module | mutants | killed | timeout | survived | no test runs it | score | time |")
    print("|---|---|---|---|---|---|---|---|")
    for s in scores:
        print(
            f"| {s.module} | {s.total} | {len(s.killed)} | {len(s.timeout)} | {len(s.survived)} "
            f"| {len(s.uncovered)} | {s.percent:.0f} % | {s.seconds:.0f} s |"
        )
    for s in scores:
        for m in s.survived + s.uncovered:
            why = "survived" if m in s.survived else "no test runs it"
            print(f"  {why}: {m.path}:{m.line}: {m.description}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="default: all")
    parser.add_argument("--line", type=int, help="only the mutants of this line")
    parser.add_argument("--timeout-s", type=float, default=60.0, help="per mutant")
    parser.add_argument("--baseline-timeout-s", type=float, default=600.0)
    parser.add_argument("--verbose", action="store_true", help="print every mutant, not only survivors")
    args = parser.parse_args()
    os.nice(19 - os.nice(0))  # the machine is shared: lowest priority, one child at a time
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    scores = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree = Path(tmp) / "repo"
        _copy_tree(tree)
        for module in args.module or list(MODULES):
            scores.append(score_module(module, MODULES[module], tree, args))
    _report(scores)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
