"""What the fuzz tests generate (methods, paths, headers, queries, bodies) and what they check.

Bounded on purpose: every target runs `EXAMPLES` examples (DEVSTACK_FUZZ_EXAMPLES raises it for
a longer hunt by hand), derandomized so CI sees the same inputs each run.
"""

from __future__ import annotations

import base64
import json
import os
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from werkzeug.test import Client

EXAMPLES = int(os.environ.get("DEVSTACK_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text of Python, cryptography or werkzeug that must never reach a client.
EXCEPTION_TEXT = (
    "Traceback",
    "Incorrect padding",
    "invalid literal",
    "has no attribute",
    "Expecting value",
    "Expecting property",
    "codec can't",
    "NoneType",
    "unhashable",
    "not subscriptable",
    "not iterable",
    "RecursionError",
    "KeyError",
    "TypeError",
    "ValueError",
    "line 1 column",
    "Invalid base64",
    "base64-encoded",
    "Could not deserialize",
    "DecodeError",
    "ClaimError",
    "PyJWT",
    "<!doctype",
    "<html",
    "Werkzeug",
)

METHODS = st.sampled_from(
    ["GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND"]
)
WEIRD_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(["", " ", "..", "%00", "%2e%2e", "null", "[]", "{}", "-1", "1e309", "NaN", "é", "\u202e"])
SEGMENT = WEIRD_TEXT.map(lambda s: quote(s, safe="") or "x")

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)


def deep_json(depth: int, kind: str) -> bytes:
    return (
        ("[" * depth + "]" * depth).encode()
        if kind == "list"
        else ('{"a":' * depth + "1" + "}" * depth).encode()
    )


def objects(
    fields: Iterable[str], values: st.SearchStrategy[Any] = JSON_VALUES
) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects with some of the named fields, each of any JSON type."""
    return st.fixed_dictionaries({}, optional={name: values for name in fields})


def near(valid: Any) -> st.SearchStrategy[Any]:
    """Values close to a valid one: each field kept, dropped, made deeper or replaced by any JSON."""
    if isinstance(valid, dict):
        fields = {k: near(v) for k, v in valid.items()}
        return st.fixed_dictionaries({}, optional=fields) | st.fixed_dictionaries(fields)
    return st.one_of(st.just(valid), st.just(valid), st.just(valid), JSON_VALUES)


def bodies(shaped: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[bytes]:
    """JSON of the expected shape (wrong types inside), of any shape and depth, binary, truncated."""
    json_text = (shaped if shaped is not None else JSON_VALUES).map(lambda v: json.dumps(v).encode())
    return st.one_of(
        json_text,
        json_text,
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.tuples(st.integers(30, 1500), st.sampled_from(["list", "dict"])).map(lambda t: deep_json(*t)),
        st.binary(max_size=300),
        st.tuples(json_text, st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
        st.just(b""),
        st.just(b"\xff\xfe{"),
    )


class Call:
    """One generated request; its repr stays short (hypothesis prints it for a failing example)."""

    def __init__(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        self.method, self.path, self.body = method, path, body
        self.query = query or []
        self.headers = headers or {}

    def __repr__(self) -> str:
        headers = {k: (v[:40] + "...") if len(v) > 40 else v for k, v in self.headers.items()}
        body = self.body[:300] + (b"..." if len(self.body) > 300 else b"")
        return f"Call({self.method!r}, {self.target()[:300]!r}, headers={headers!r}, body={body!r})"

    def target(self) -> str:
        return self.path + ("?" + urlencode(self.query) if self.query else "")


def queries(known: Mapping[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Some of the known parameters with plausible or weird values, plus stray ones."""
    pairs = [st.tuples(st.just(name), values | WEIRD_TEXT) for name, values in known.items()]
    stray = st.tuples(st.text(string.ascii_letters + "$_-", min_size=1, max_size=10), WEIRD_TEXT)
    return st.lists(st.one_of(*pairs, stray) if pairs else stray, max_size=5)


def header_sets(known: Mapping[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, str]]:
    safe = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
    pairs = [st.tuples(st.just(name), values | safe) for name, values in known.items()]
    stray = st.tuples(st.sampled_from(["X-Fuzz", "Accept", "Prefer", "ConsistencyLevel", "If-Match"]), safe)
    return st.lists(st.one_of(*pairs, stray), max_size=5).map(dict)


CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "text/plain",
        "application/octet-stream",
        "garbage/;;;",
    ]
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


FAKE_JWTS = st.one_of(
    st.tuples(JSON_VALUES, JSON_VALUES, st.binary(max_size=20)).map(
        lambda t: ".".join(
            [b64url(json.dumps(t[0]).encode()), b64url(json.dumps(t[1]).encode()), b64url(t[2])]
        )
    ),
    st.text(max_size=40),
    st.just("eyJhbGciOiJub25lIn0.eyJleHAiOjF9."),
    st.just("a.b.c"),
    st.just("...."),
)


def send(client: Client, call: Call) -> tuple[int, dict[str, str], bytes]:
    """The request through the app's WSGI interface (werkzeug's test client: no socket)."""
    # CR/LF in a header never reaches an app: the server refuses it (tests/devstack/core).
    headers = {k: v.replace("\r", " ").replace("\n", " ") for k, v in call.headers.items()}
    response = client.open(
        call.target(), method=call.method, headers=headers, data=call.body if call.body else None
    )
    data = response.get_data()
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}, data


def check(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    shape: Callable[[int, Any], None],
    secrets: Iterable[str] = (),
    allowed_5xx: Callable[[int, Any], bool] = lambda status, body: False,
) -> None:
    """No 5xx but by design, the service's error shape, no exception text, no secret echoed."""
    text = body.decode("utf-8", "replace")
    for marker in EXCEPTION_TEXT:
        assert marker not in text, f"exception text {marker!r} in a {status} body: {text[:300]}"
    for secret in secrets:
        if len(secret) >= 8:
            assert secret not in text, f"a secret was echoed in a {status} body"
    parsed: Any = None
    if body and "json" in headers.get("content-type", ""):
        parsed = json.loads(body)
    if status >= 500:
        assert allowed_5xx(status, parsed), f"{status}: {text[:300]}"
    if status >= 400 and body:  # HEAD answers have no body
        shape(status, parsed)


def problem_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict), body
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert isinstance(body["title"], str)
