"""HTTP/1.1 for the callback client, sans I/O: a request's bytes and a response parser (RFC 9112).

:func:`request_bytes` builds a request (a POST with its body, or a GET). :class:`ResponseParser`
is a thin adapter over ``httptools.HttpResponseParser`` (llhttp, the parser Node.js uses): it takes
the bytes that come back in chunks of any size and yields the status, the headers and at most
``keep`` octets of the body. llhttp does the grammar and the framing (Content-Length, chunked, interim 1xx
responses, no body for 204 and 304) and says whether the connection may be kept; this module adds
what llhttp leaves to its caller:

- bodies delimited by the end of the connection (llhttp has no end-of-input call in httptools):
  :meth:`ResponseParser.eof` completes them;
- limits: a head of at most 64 KiB, a body read and dropped beyond ``keep``, and a body longer than
  ``max_body`` ends the response there (the connection must then be closed);
- HTTP/1.0 and 1.1 only, and no 101 (we never ask for an upgrade);
- bytes after the end of the response make it not reusable.

Anything malformed raises :class:`HttpProtocolError`, never anything else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

MAX_HEAD = 64 * 1024
SWITCHING_PROTOCOLS = 101
_NO_BODY = (204, 304)
_VERSIONS = ("1.1", "1.0")
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
    """The request line, ``Host``, the given headers, ``Content-Length`` and the body (a GET
    without a body goes without Content-Length, RFC 9110 §8.6).

    ``target`` must already be percent-encoded ASCII. A CR, LF or NUL in any part is a ValueError
    (no header injection through a stored URL or a value).
    """
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    if _FORBIDDEN_IN_HEADERS.search("".join(lines)) or " " in target:
        raise ValueError("CR, LF, NUL or space in the request line or a header")
    return "\r\n".join(lines).encode("ascii") + b"\r\n\r\n" + body


class ResponseParser:
    """The responses on one connection, one at a time: :meth:`feed` returns each once complete.

    Bytes fed after a response that allowed keep-alive start the next response; after one that
    did not (or after a malformed one) they are an error. One parser per connection, not per
    response: llhttp holds our callbacks and we hold it, a reference cycle, and a cycle per
    response cost about 20 µs each in garbage collections (measured). The ``on_*`` methods are
    llhttp's callbacks, called from inside :meth:`feed`.
    """

    def __init__(self, *, keep: int = 200, max_body: int = 64 * 1024) -> None:
        self._keep = keep
        self._max_body = max_body
        self._parser = HttpResponseParser(self)
        # RFC 9112 §2.2: a recipient MAY take a bare LF as a line end (the parser before
        # httptools did, and so do curl and browsers). Only responses on our own connections.
        self._parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)
        self._broken = False  # malformed, or cut short: llhttp cannot go on
        self._start()

    def _start(self) -> None:
        """Forget the last response: the next one begins."""
        self._status = 0
        self._headers: list[tuple[str, str]] = []
        self._head_done = False
        self._head_read = 0  # octets received while the head was incomplete (interim ones too)
        self._head_size = 0  # octets of header fields (a whole head can arrive in one read)
        self._body = b""
        self._body_seen = 0
        self._response: Response | None = None
        self._error: HttpProtocolError | None = None  # raised by a callback, to re-raise as is
        self.started = False  # any octet of this response received

    def feed(self, data: bytes) -> Response | None:
        """Take the next bytes; the response once it is complete, else None."""
        self._next()
        self.started = self.started or bool(data)
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as exc:
            self._broken = True
            if self._completed() is not None:  # bytes after a complete response: not reusable
                return self._finish(keep_alive=False)
            raise self._error or HttpProtocolError(f"malformed response: {exc}") from exc
        response = self._completed()
        if response is not None:
            return response
        if not self._head_done:
            self._head_read += len(data)
            if self._head_read > MAX_HEAD:
                self._broken = True
                raise HttpProtocolError("response head longer than 64 KiB")
        elif self._body_seen > self._max_body:
            return self._finish(keep_alive=False)
        elif len(self._body) >= self._keep and self._until_close():
            return self._finish(keep_alive=False)  # nothing to gain by reading on
        return None

    def eof(self) -> Response:
        """The peer closed the connection: the response if its body ran until the close."""
        if self._response is not None:  # nothing of a next response arrived
            self._start()
        elif not self._broken and self._head_done and self._until_close():
            return self._finish(keep_alive=False)
        self._broken = True
        if not self.started:
            raise HttpProtocolError("the connection closed before any response")
        raise HttpProtocolError("the connection closed in the middle of the response")

    def _next(self) -> None:
        if self._response is not None:
            if not self._response.keep_alive:
                self._broken = True
            self._start()
        if self._broken:
            raise HttpProtocolError("data after the end of the response")

    def _completed(self) -> Response | None:
        """The response once the callbacks have completed it (a call: mypy would take the
        attribute for still None after the check in :meth:`_next`)."""
        return self._response

    def _finish(self, *, keep_alive: bool) -> Response:
        self._broken = self._broken or not keep_alive
        self._response = Response(self._status, tuple(self._headers), self._body, keep_alive)
        return self._response

    def _until_close(self) -> bool:
        """The body runs until the connection closes: neither Content-Length nor chunked frames
        it (RFC 9112 §6.3; llhttp rejects a response that has both)."""
        if self._status in _NO_BODY:
            return False
        for name, value in self._headers:
            if name == "content-length":
                return False
            if name == "transfer-encoding":
                return value.rsplit(",", 1)[-1].strip().lower() != "chunked"
        return True

    def _fail(self, message: str) -> None:
        """Stop llhttp with our error (it wraps whatever a callback raises)."""
        self._error = HttpProtocolError(message)
        raise self._error

    # --- llhttp's callbacks ---

    def on_message_begin(self) -> None:
        if self._response is not None:
            self._fail("data after the end of the response")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._head_done:
            return  # a trailer field: llhttp checked it, we drop it
        self._head_size += len(name) + len(value)
        if self._head_size > MAX_HEAD:
            self._fail("response head longer than 64 KiB")
        self._headers.append(
            (name.decode("latin-1").lower(), value.decode("latin-1").rstrip(" \t"))
        )

    def on_headers_complete(self) -> None:
        parser = self._parser
        if parser.get_http_version() not in _VERSIONS:
            self._fail(f"not HTTP/1.x: HTTP/{parser.get_http_version()}")
        status = parser.get_status_code()
        if status == SWITCHING_PROTOCOLS:
            self._fail("101 Switching Protocols without an upgrade request")
        if status >= 200:  # else an interim response: the real one follows
            self._status = status
            self._head_done = True

    def on_body(self, body: bytes) -> None:
        self._body_seen += len(body)
        room = self._keep - len(self._body)
        if room > 0:
            self._body += body[:room]

    def on_message_complete(self) -> None:
        if not self._head_done:  # the end of an interim response
            self._headers = []
            return
        self._finish(keep_alive=self._parser.should_keep_alive())
