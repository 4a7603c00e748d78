"""HTTP/1.1 for the callback client, sans I/O: a request's bytes and a response parser (RFC 9112).

Only what a client that POSTs small bodies and reads short answers needs. :func:`request_bytes`
builds a request with a Content-Length body. :class:`ResponseParser` takes the bytes that come back
in chunks of any size and yields the status, the headers and at most ``keep`` octets of the body.
Bodies are framed by Content-Length, by the chunked transfer coding or by the end of the connection;
interim (1xx) responses are skipped; the rest of a body beyond ``keep`` is read and dropped so the
connection can carry the next request, unless the body is longer than ``max_body`` (the response
then ends there and the connection must be closed). Anything malformed raises
:class:`HttpProtocolError`, never anything else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
MAX_LINE = 8 * 1024
SWITCHING_PROTOCOLS = 101
_NO_BODY = (204, 304)

# The whole head at once (decoded as latin-1): status line, then header fields, lines ending in
# CRLF or LF, no control characters but tab, no obsolete line folding.
_HEAD_RE = re.compile(
    r"HTTP/1\.([01]) ([0-9]{3})(?: [^\x00-\x08\x0a-\x1f\x7f]*)?\r?"
    r"(?:\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r?)*"
)
_TRAILER = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*")
_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_FORBIDDEN_IN_HEADERS = re.compile(r"[\x00\r\n]")


class HttpProtocolError(Exception):
    """The peer's bytes are not an HTTP/1.1 response we can read."""


@dataclass(frozen=True, slots=True)
class Response:
    """A response: ``body`` holds at most the parser's ``keep`` first octets of the body."""

    status: int
    headers: tuple[tuple[str, str], ...]  # names in lower case, in the order received
    body: bytes
    # The connection may carry another request (the whole body was read, no "close").
    keep_alive: bool

    def header(self, name: str) -> str | None:
        """The first value of the header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


def request_bytes(
    method: str, target: str, host: str, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """The request line, ``Host``, the given headers, ``Content-Length`` and the body.

    ``target`` must already be percent-encoded ASCII. A CR, LF or NUL in any part is a ValueError
    (no header injection through a stored URL or a value).
    """
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    if _FORBIDDEN_IN_HEADERS.search("".join(lines)) or " " in target:
        raise ValueError("CR, LF, NUL or space in the request line or a header")
    return "\r\n".join(lines).encode("ascii") + b"\r\n\r\n" + body


# Parser states (plain ints: this runs once per callback).
_S_HEAD = 0
_S_LENGTH = 1  # a Content-Length body
_S_CHUNK_SIZE = 2
_S_CHUNK_DATA = 3
_S_CHUNK_END = 4  # the CRLF after a chunk's data
_S_TRAILERS = 5
_S_UNTIL_CLOSE = 6
_S_DONE = 7


@dataclass(frozen=True, slots=True)
class Head:
    """A parsed response head and how its body is framed."""

    status: int
    headers: tuple[tuple[str, str], ...]
    state: int  # the parser state the body starts in
    length: int  # the Content-Length, when that frames the body
    keep_alive: bool


# Response heads seen lately, parsed: a handler sends the same head again and again (a Date
# header changes it once a second), so one parse serves many responses. Owned by a client.
HeadCache = dict[bytes, Head]
MAX_CACHED_HEADS = 256


def parse_head(raw: bytes) -> Head | None:
    """The status line and header fields (without the empty line); None for an interim (1xx)
    response, HttpProtocolError when malformed."""
    head = raw.decode("latin-1")
    valid = _HEAD_RE.fullmatch(head)
    if valid is None:
        raise HttpProtocolError(f"malformed response head: {head[:80]!r}")
    status = int(valid.group(2))
    if 100 <= status < 200:
        if status == SWITCHING_PROTOCOLS:
            raise HttpProtocolError("101 Switching Protocols without an upgrade request")
        return None
    headers: list[tuple[str, str]] = []
    lengths: set[str] = set()
    codings: list[str] = []
    connection: set[str] = set()
    for line in head.split("\n")[1:]:
        name, _, value = line.partition(":")
        name = name.lower()
        value = value.strip(" \t\r")
        headers.append((name, value))
        if name == "content-length":
            lengths.update(n.strip() for n in value.split(","))
        elif name == "transfer-encoding":
            codings += value.split(",")
        elif name == "connection":
            connection.update(token.strip() for token in value.lower().split(","))
    keep_alive = "close" not in connection if valid.group(1) == "1" else "keep-alive" in connection
    length = 0
    if status in _NO_BODY:
        state = _S_DONE
    elif codings:
        # RFC 9112 §6.3: chunked last frames the body; any other coding runs to the close.
        state = _S_CHUNK_SIZE if codings[-1].strip().lower() == "chunked" else _S_UNTIL_CLOSE
    elif lengths:
        if len(lengths) > 1 or not all(n.isdigit() and n.isascii() for n in lengths):
            raise HttpProtocolError(f"bad Content-Length: {sorted(lengths)!r}"[:100])
        length = int(lengths.pop())
        state = _S_LENGTH if length else _S_DONE
    else:
        state = _S_UNTIL_CLOSE
    return Head(status, tuple(headers), state, length, keep_alive and state != _S_UNTIL_CLOSE)


class ResponseParser:
    """One response from a byte stream; :meth:`feed` returns it once complete.

    ``heads``, when given, is a cache of parsed heads shared by the parsers of one client.
    """

    def __init__(
        self, *, keep: int = 200, max_body: int = 64 * 1024, heads: HeadCache | None = None
    ) -> None:
        self._keep = keep
        self._heads = heads
        self._max_body = max_body
        self._buffer = b""
        self._state = _S_HEAD
        self._status = 0
        self._headers: tuple[tuple[str, str], ...] = ()
        self._keep_alive = False
        self._remaining = 0  # octets left of the Content-Length body or of the current chunk
        self._body = b""
        self._body_seen = 0
        self.started = False  # any octet received

    def feed(self, data: bytes) -> Response | None:
        """Take the next bytes; the response once it is complete, else None."""
        if self._state == _S_DONE:
            if data:
                raise HttpProtocolError("data after the end of the response")
            return None
        self.started = self.started or bool(data)
        self._buffer += data
        while True:
            before = (self._state, len(self._buffer))
            if self._state == _S_HEAD:
                self._read_head()
            elif self._state == _S_LENGTH:
                self._read_length_body()
            elif self._state == _S_UNTIL_CLOSE:
                self._take_body(self._buffer)
                self._buffer = b""
                if self._body_seen > self._max_body or len(self._body) >= self._keep:
                    return self._finish(keep_alive=False)  # nothing to gain by reading on
            else:
                self._read_chunked()
            if self._state == _S_DONE:
                return self._finish(keep_alive=self._keep_alive)
            if self._body_seen > self._max_body:
                return self._finish(keep_alive=False)
            if (self._state, len(self._buffer)) == before:
                return None

    def eof(self) -> Response:
        """The peer closed the connection: the response if its body ran until the close."""
        if self._state == _S_UNTIL_CLOSE:
            return self._finish(keep_alive=False)
        if self._state == _S_HEAD and not self.started:
            raise HttpProtocolError("the connection closed before any response")
        raise HttpProtocolError("the connection closed in the middle of the response")

    def _finish(self, *, keep_alive: bool) -> Response:
        self._state = _S_DONE
        return Response(self._status, self._headers, self._body, keep_alive)

    def _take_body(self, data: bytes) -> None:
        self._body_seen += len(data)
        room = self._keep - len(self._body)
        if room > 0:
            self._body += data[:room]

    def _read_head(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end >= 0:
            stop = end + 4
        else:  # bare LFs (RFC 9112 §2.2 lets a recipient accept them)
            found = _HEAD_END.search(self._buffer)
            if found is None:
                if len(self._buffer) > MAX_HEAD:
                    raise HttpProtocolError("response head longer than 64 KiB")
                return
            end, stop = found.start(), found.end()
        if end > MAX_HEAD:
            raise HttpProtocolError("response head longer than 64 KiB")
        raw = self._buffer[:end]
        self._buffer = self._buffer[stop:]
        heads = self._heads
        head = heads.get(raw) if heads is not None else None
        if head is None:
            head = parse_head(raw)
            if head is None:
                return  # interim response: the real one follows
            if heads is not None:
                if len(heads) >= MAX_CACHED_HEADS:
                    heads.clear()
                heads[raw] = head
        self._status, self._headers = head.status, head.headers
        self._state, self._remaining, self._keep_alive = head.state, head.length, head.keep_alive

    def _read_length_body(self) -> None:
        piece, self._buffer = self._buffer[: self._remaining], self._buffer[self._remaining :]
        self._take_body(piece)
        self._remaining -= len(piece)
        if self._remaining == 0:
            self._state = _S_DONE

    def _read_chunked(self) -> None:
        if self._state == _S_CHUNK_DATA:
            self._read_length_body()
            if self._state == _S_DONE:  # this chunk's data is in; its CRLF follows
                self._state = _S_CHUNK_END
            return
        line = self._line()
        if line is None:
            return
        if self._state == _S_CHUNK_END:
            if line:
                raise HttpProtocolError("chunk data longer than its size")
            self._state = _S_CHUNK_SIZE
        elif self._state == _S_CHUNK_SIZE:
            size = _CHUNK_SIZE_LINE.fullmatch(line)
            if size is None:
                raise HttpProtocolError(f"bad chunk size line: {line[:40]!r}")
            self._remaining = int(size.group(1), 16)
            self._state = _S_CHUNK_DATA if self._remaining else _S_TRAILERS
        elif not line:  # the empty line after the trailers
            self._state = _S_DONE
        elif _TRAILER.fullmatch(line) is None:  # trailers are checked and dropped
            raise HttpProtocolError(f"bad trailer line: {line[:60]!r}")

    def _line(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > MAX_LINE:
                raise HttpProtocolError("line longer than 8 KiB in a chunked body")
            return None
        line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
        return line.removesuffix(b"\r")
