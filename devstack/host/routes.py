"""ASP.NET-style route templates (`jobs/{name}/runs/{runId:guid?}`, `{*rest}`) as werkzeug rules.

Azure routes with ASP.NET Core templates: `{name}`, constraints (`{id:int}`, `{n:min(1)}`,
`{s:regex(^a+$)}`), optional (`{id?}`) and default (`{page=1}`) parameters at the end of the
template, and catch-alls (`{*rest}`). Route values are strings, as `req.route_params` gives them.
Each parameter gets its own werkzeug converter that matches the text and checks the constraints.
Literal text matches case-insensitively (`/api/Health` reaches `health`), as ASP.NET Core routing
does; route values keep the case the caller sent.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.routing import BaseConverter, Map, Rule, ValidationError
from werkzeug.routing.matcher import State, StateMachineMatcher

from devstack.host.errors import HostStartupError

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Parameter:
    """One `{...}` of a template."""

    name: str
    constraints: tuple[tuple[str, str | None], ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False


@dataclass(frozen=True)
class Target:
    """What a matched rule runs: the endpoint and the route values absent from this rule's path."""

    endpoint: str
    defaults: dict[str, str] = field(default_factory=dict)


def _integer_in(bounds: tuple[int, int]) -> Callable[[str, str | None], bool]:
    def check(value: str, _: str | None) -> bool:
        return re.fullmatch(r"[+-]?\d+", value) is not None and bounds[0] <= int(value) <= bounds[1]

    return check


def _number(value: str, _: str | None) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _guid(value: str, _: str | None) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _datetime(value: str, _: str | None) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _ints(arg: str | None) -> list[int]:
    return [int(p) for p in (arg or "").split(",")]


def _length(value: str, arg: str | None) -> bool:
    bounds = _ints(arg)
    return bounds[0] <= len(value) <= bounds[-1]


def _range(value: str, arg: str | None) -> bool:
    low, high = _ints(arg)
    return _integer_in(_INT64)(value, None) and low <= int(value) <= high


CONSTRAINTS: dict[str, Callable[[str, str | None], bool]] = {
    "int": _integer_in(_INT32),
    "long": _integer_in(_INT64),
    "bool": lambda v, _: v.lower() in ("true", "false"),
    "datetime": _datetime,
    "decimal": _number,
    "double": _number,
    "float": _number,
    "guid": _guid,
    "alpha": lambda v, _: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "minlength": lambda v, a: len(v) >= _ints(a)[0],
    "maxlength": lambda v, a: len(v) <= _ints(a)[0],
    "length": _length,
    "min": lambda v, a: _integer_in(_INT64)(v, None) and int(v) >= _ints(a)[0],
    "max": lambda v, a: _integer_in(_INT64)(v, None) and int(v) <= _ints(a)[0],
    "range": _range,
    # ASP.NET Core matches the pattern unanchored and case-insensitively.
    "regex": lambda v, a: re.search(a or "", v, re.IGNORECASE) is not None,
}


def _split_constraints(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    parts.append(current)
    return parts


def parse_parameter(token: str, template: str) -> Parameter:
    """`name:int:min(1)?` or `*rest` or `page=1` as a Parameter."""
    catch_all = token.startswith("*")
    token = token.lstrip("*")
    default = None
    head, *constraint_texts = _split_constraints(token)
    optional = False
    tail = constraint_texts[-1] if constraint_texts else head
    if "=" in tail:
        tail, default = tail.split("=", 1)
    if tail.endswith("?"):
        optional, tail = True, tail[:-1]
    if constraint_texts:
        constraint_texts[-1] = tail
    else:
        head = tail
    if not re.fullmatch(r"[A-Za-z_]\w*", head):
        raise HostStartupError(f"route '{template}': parameter name {head!r} is not supported")
    constraints = []
    for text in constraint_texts:
        match = re.fullmatch(r"(\w+)(?:\((.*)\))?", text, re.DOTALL)
        if not match or match.group(1).lower() not in CONSTRAINTS:
            raise HostStartupError(f"route '{template}': unknown route constraint {text!r}")
        constraints.append((match.group(1).lower(), match.group(2)))
    optional = optional or default is not None or catch_all
    return Parameter(head, tuple(constraints), optional, default, catch_all)


def tokenize(template: str) -> list[list[str | Parameter]]:
    """Segments of a template, each a list of literal text and parameters (`{{` is a literal brace)."""
    segments: list[list[str | Parameter]] = []
    for raw in template.strip("/").split("/") if template.strip("/") else []:
        parts: list[str | Parameter] = []
        literal, i = "", 0
        while i < len(raw):
            if raw.startswith("{{", i) or raw.startswith("}}", i):
                literal += raw[i]
                i += 2
            elif raw[i] == "{":
                j, token = i + 1, ""
                while j < len(raw) and not (raw[j] == "}" and not raw.startswith("}}", j)):
                    step = 2 if raw.startswith(("{{", "}}"), j) else 1
                    token += raw[j]
                    j += step
                if j >= len(raw):
                    raise HostStartupError(f"route '{template}': unclosed '{{'")
                if literal:
                    parts.append(literal)
                    literal = ""
                parts.append(parse_parameter(token, template))
                i = j + 1
            else:
                literal += raw[i]
                i += 1
        if literal:
            parts.append(literal)
        segments.append(parts)
    return segments


def _converter(parameter: Parameter) -> type[BaseConverter]:
    checks = [(CONSTRAINTS[name], arg) for name, arg in parameter.constraints]

    class Converter(BaseConverter):
        regex = ".+" if parameter.catch_all else "[^/]+"
        # A catch-all spans segments; werkzeug must not split the path at "/" for it.
        part_isolating = not parameter.catch_all
        weight = 200 if parameter.catch_all else (50 if checks else 100)

        def to_python(self, value: str) -> Any:
            if not all(check(value, arg) for check, arg in checks):
                raise ValidationError
            return value

    return Converter


def fold(text: str) -> str:
    """Per-character simple upper case, like .NET's OrdinalIgnoreCase (no 'ß' -> 'SS' expansion)."""
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in text)


class _FoldedKeys(dict[str, State]):
    """The static transitions of a matcher state, keyed by folded literal text."""

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(fold(key))

    def __getitem__(self, key: str) -> State:
        return super().__getitem__(fold(key))

    def setdefault(self, key: str, default: State) -> State:
        return super().setdefault(fold(key), default)


class _CaseInsensitiveMatcher(StateMachineMatcher):
    """werkzeug's matcher with literal parts compared case-insensitively.

    Whole-literal segments are looked up in folded dicts; segments mixing literals and parameters
    are regexes, matched with IGNORECASE (the parameters' own regexes have no letters). The
    constraint `regex` is checked in the converter, so the flag does not reach it. Relies on
    werkzeug's matcher internals (Werkzeug is pinned in constraints.txt; the route tests cover it).
    """

    def __init__(self, merge_slashes: bool) -> None:
        super().__init__(merge_slashes)
        self._root = State(static=_FoldedKeys())

    def add(self, rule: Rule) -> None:
        state = self._root
        for part in rule._parts:
            if part.static:
                state = state.static.setdefault(part.content, State(static=_FoldedKeys()))
                continue
            part = dataclasses.replace(part, content=f"(?i:{part.content})")
            for test_part, new_state in state.dynamic:
                if test_part == part:
                    state = new_state
                    break
            else:
                new_state = State(static=_FoldedKeys())
                state.dynamic.append((part, new_state))
                state = new_state
        state.rules.append(rule)


class RouteTable:
    """All HTTP functions' routes under the route prefix, as one werkzeug Map."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.strip("/")
        self.targets: list[Target] = []
        self._rules: list[Rule] = []
        self._converters: dict[str, type[BaseConverter]] = {}
        self._map: Map | None = None

    def add(self, endpoint: str, template: str, methods: Iterable[str] | None) -> None:
        """Add the rules of one function's route template (before `build`)."""
        if self._map is not None:
            raise RuntimeError("routes are added before the map is built")
        segments = tokenize(template)
        # Trailing optional segments ({id?}, {page=1}, {*rest}) may be left out: one rule per length.
        lengths = [len(segments)]
        while lengths[-1] > 0:
            last = segments[lengths[-1] - 1]
            if len(last) == 1 and isinstance(last[0], Parameter) and last[0].optional:
                lengths.append(lengths[-1] - 1)
            else:
                break
        for parameter in (p for s in segments for p in s if isinstance(p, Parameter)):
            if parameter.optional and not any(
                len(segments[n - 1]) == 1 and segments[n - 1][0] == parameter for n in lengths[:-1]
            ):
                raise HostStartupError(f"route '{template}': optional parameters must come last")
        allowed = None if methods is None else {m.upper() for m in methods}
        for length in lengths:
            path = [self.prefix] if self.prefix else []
            for segment in segments[:length]:
                text = ""
                for part in segment:
                    if isinstance(part, Parameter):
                        key = f"p{len(self._converters)}"
                        self._converters[key] = _converter(part)
                        text += f"<{key}:{part.name}>"
                    else:
                        text += part.replace("<", "%3C")
                path.append(text)
            defaults = {
                p.name: p.default
                for s in segments[length:]
                for p in s
                if isinstance(p, Parameter) and p.default is not None
            }
            self.targets.append(Target(endpoint, defaults))
            rule = Rule("/" + "/".join(path), endpoint=len(self.targets) - 1)
            # werkzeug adds HEAD to GET rules; Azure answers exactly the declared methods.
            rule.methods = allowed
            self._rules.append(rule)

    def build(self) -> Map:
        """The werkzeug Map, built once (no redirects: Azure neither merges slashes nor redirects)."""
        if self._map is None:
            routes = Map(converters=self._converters, strict_slashes=False, merge_slashes=False)
            routes._matcher = _CaseInsensitiveMatcher(merge_slashes=False)
            for rule in self._rules:
                routes.add(rule)
            self._map = routes
        return self._map
