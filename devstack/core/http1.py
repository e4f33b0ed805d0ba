"""Reading one HTTP/1.1 request as a front end does: strict syntax, size limits and deadlines.

The limits follow Kestrel's defaults (the Functions host runs on it: request line 8 KiB -> 414,
headers 32 KiB or 100 fields -> 431, a request-headers timeout -> 408;
https://learn.microsoft.com/aspnet/core/fundamentals/servers/kestrel/options). The whole body is
read before the application runs, so a body shorter than its Content-Length or a broken chunked
encoding is the client's 400, never the application's exception.
"""

from __future__ import annotations

import io
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_DIGITS = re.compile(r"[0-9]{1,18}")
_BLANK = (b"\r\n", b"\n")
_CHUNK_LINE = 1024  # a chunk-size line with its extensions
_DRAIN_BYTES = 1 << 20  # what is read and dropped after the answer, so the client sees it (no RST)
_DRAIN_WAIT_S = 0.05


@dataclass(frozen=True)
class Limits:
    """How long and how much one connection may take before its request is refused."""

    handshake_s: float = 5.0  # TLS handshake, from the connection's arrival
    idle_s: float = 5.0  # a connection that sends nothing at all is closed after this
    header_s: float = 5.0  # request line and headers, from the first byte
    body_idle_s: float = 10.0  # longest pause inside the body
    body_total_s: float = 60.0
    write_s: float = 10.0  # a client that does not read its answer
    request_line: int = 8 * 1024
    header_bytes: int = 32 * 1024
    header_count: int = 100
    body_bytes: int = 4 * 1024 * 1024
    idle_connections: int = 1000  # beyond this, the oldest silent connection is closed


class Rejected(Exception):
    """The request is refused with `status`; `detail` is a short text safe to send and log."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Head:
    """A request line and its header fields, as sent (names keep their case)."""

    method: str
    target: str
    version: str
    fields: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        lower = name.lower()
        return [v for n, v in self.fields if n.lower() == lower]


class DeadlineSocketReader(io.RawIOBase):
    """A socket's input where every read honours the current deadline, not a per-call timeout.

    A per-call timeout lets a client trickle one byte just before each timeout forever; a deadline
    bounds the whole phase. In drain mode reads end quietly (EOF) after a short wait or a budget.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self.deadline: float | None = None
        self.pause_s: float | None = None
        self.received = 0
        self._drain_budget: int | None = None

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """From now on, read at most a little more, and only what arrives without waiting."""
        self._drain_budget = _DRAIN_BYTES

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._drain_budget is not None:
            return self._drain_into(buffer)
        timeout = self.pause_s
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed")
            timeout = remaining if timeout is None else min(timeout, remaining)
        self._sock.settimeout(timeout)
        n = self._sock.recv_into(buffer)
        self.received += n
        return n

    def _drain_into(self, buffer: memoryview) -> int:
        if self._drain_budget is None or self._drain_budget <= 0:
            return 0
        self._sock.settimeout(_DRAIN_WAIT_S)
        try:
            n = self._sock.recv_into(buffer[: self._drain_budget])
        except OSError:  # TimeoutError included: nothing more came
            return 0
        self._drain_budget -= n
        return n


class DeadlineSocketWriter(io.RawIOBase):
    """A socket's output where each write must be taken by the client within `write_s`."""

    def __init__(self, sock: socket.socket, write_s: float) -> None:
        super().__init__()
        self._sock = sock
        self._write_s = write_s

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(self._write_s)  # sendall's timeout bounds the whole call
        self._sock.sendall(data)
        return memoryview(data).nbytes


def read_head(rfile: io.BufferedReader[Any], limits: Limits) -> Head | None:
    """The request line and headers; None when the client closed before sending anything."""
    line = b""
    for _ in range(3):  # RFC 9112 section 2.2: ignore a few empty lines before the request line
        line = rfile.readline(limits.request_line + 1)
        if line not in _BLANK:
            break
    if not line or line in _BLANK:
        return None
    if len(line) > limits.request_line:
        raise Rejected(414, "The request line is too long.")
    if not line.endswith(b"\n"):
        raise Rejected(400, "The request ended inside its request line.")
    method, target, version = _request_line(line.rstrip(b"\r\n"))
    fields = _fields(rfile, limits)
    return Head(method, target, version, fields)


def _request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.split(b" ")
    if len(parts) != 3:
        raise Rejected(400, "The request line must be: method, one space, target, one space, version.")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise Rejected(400, "The request method is not a token.")
    if not target or any(c < 0x21 or c > 0x7E for c in target):
        raise Rejected(400, "The request target holds a space, a control or a non-ASCII character.")
    if not (target.startswith(b"/") or target.startswith((b"http://", b"https://")) or target == b"*"):
        raise Rejected(400, "The request target is not a path.")
    match = _VERSION.fullmatch(version)
    if match is None:
        raise Rejected(400, "The request line does not end with an HTTP version.")
    if match[1] != b"1":
        raise Rejected(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
    return method.decode("ascii"), target.decode("ascii"), version.decode("ascii")


def _fields(rfile: io.BufferedReader[Any], limits: Limits) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    total = 0
    while True:
        line = rfile.readline(limits.header_bytes - total + 1)
        total += len(line)
        if total > limits.header_bytes:
            raise Rejected(431, "The request headers are too large.")
        if not line.endswith(b"\n"):
            raise Rejected(400, "The request ended inside its headers.")
        if line in _BLANK:
            return fields
        if line[:1] in (b" ", b"\t"):
            raise Rejected(400, "Header lines may not be folded.")
        name, colon, value = line.rstrip(b"\r\n").partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise Rejected(400, "A header line is not 'name: value'.")
        value = value.strip(b" \t")
        if any((c < 0x20 and c != 0x09) or c == 0x7F for c in value):
            raise Rejected(400, "A header value holds a control character.")
        fields.append((name.decode("ascii"), value.decode("latin-1")))
        if len(fields) > limits.header_count:
            raise Rejected(431, "The request has too many headers.")


def body_length(head: Head, limits: Limits) -> int | None:
    """The Content-Length to read, None for chunked; Rejected for what a server must refuse."""
    if head.version == "HTTP/1.1" and len(head.values("Host")) != 1:
        raise Rejected(400, "An HTTP/1.1 request needs exactly one Host header.")
    # RFC 9110 section 5.6.1: empty list elements are ignored.
    encodings = [
        c.strip().lower() for v in head.values("Transfer-Encoding") for c in v.split(",") if c.strip()
    ]
    lengths = {v.strip() for value in head.values("Content-Length") for v in value.split(",") if v.strip()}
    if head.values("Transfer-Encoding"):
        if lengths or head.values("Content-Length"):
            raise Rejected(400, "A request may not carry both Content-Length and Transfer-Encoding.")
        if not encodings or encodings[-1] != "chunked":
            raise Rejected(400, "A request body's last transfer coding must be chunked.")
        if encodings != ["chunked"]:
            raise Rejected(501, "Only the chunked transfer coding is supported.")
        return None
    if not head.values("Content-Length"):
        return 0
    value = lengths.pop() if len(lengths) == 1 else ""
    if not _DIGITS.fullmatch(value):
        raise Rejected(400, "Content-Length must be one non-negative integer.")
    length = int(value)
    if length > limits.body_bytes:
        raise Rejected(413, f"The request body exceeds {limits.body_bytes} bytes.")
    return length


def read_body(rfile: io.BufferedReader[Any], length: int | None, limits: Limits) -> bytes:
    """Exactly `length` bytes, or the dechunked body when `length` is None."""
    if length is not None:
        data = rfile.read(length) if length else b""
        if len(data) < length:
            raise Rejected(400, "The request body is shorter than its Content-Length.")
        return data
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(_CHUNK_LINE + 1)
        if not line.endswith(b"\n"):
            raise Rejected(400, "A chunk-size line is malformed or the body ended early.")
        size_text = line.rstrip(b"\r\n").split(b";", 1)[0].strip(b" \t")
        if not _HEX.fullmatch(size_text):
            raise Rejected(400, "A chunk size is not a hexadecimal number.")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > limits.body_bytes:
            raise Rejected(413, f"The request body exceeds {limits.body_bytes} bytes.")
        data = rfile.read(size)
        if len(data) < size or rfile.readline(3) not in _BLANK:
            raise Rejected(400, "A chunk is shorter than its size or does not end with CRLF.")
        parts.append(data)
    _trailers(rfile, limits)
    return b"".join(parts)


def _trailers(rfile: io.BufferedReader[Any], limits: Limits) -> None:
    total = 0
    for _ in range(limits.header_count + 1):
        line = rfile.readline(limits.header_bytes - total + 1)
        total += len(line)
        if total > limits.header_bytes or not line.endswith(b"\n"):
            raise Rejected(400, "The chunked body's trailer section is malformed.")
        if line in _BLANK:
            return
    raise Rejected(431, "The chunked body has too many trailer fields.")
