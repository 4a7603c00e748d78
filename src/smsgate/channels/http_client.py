"""A lean HTTP/1.1 client for callbacks (POSTs over kept-alive connections, pooled per origin) and
for the files send.php fetches by URL (``channels/file_fetch.py``).

Why not httpx: its per-request cost (request and response models, httpcore's pool and anyio
streams, h11) is about 1 ms of CPU, which caps one process at a few hundred callbacks a second
(docs/benchmarks.md). This client does one thing: write a POST on an idle connection of the URL's
origin (or a new one) from an ``asyncio.Protocol`` (no streams), and read the answer with
:class:`~smsgate.protocols.http1.ResponseParser` (httptools, i.e. llhttp), about a tenth of that.

Contract:

- Every new connection goes through the :class:`Resolver` first, which returns the addresses it
  allows (or raises :class:`ConnectFailed`); the client connects to one of those very addresses, so
  a check made there cannot be bypassed by DNS answering differently at connect time. TLS verifies
  the URL's host name against the default trust store.
- ``connect_timeout_s`` bounds each connect (TLS handshake included), ``timeout_s`` the request
  from the first byte written to the last one read (whole-request bound of http-api.md §14).
- A connection is reused only after a complete response that allowed it; at most ``idle_per_origin``
  wait per origin, each for at most ``keepalive_s``. A kept-alive connection that the server closed
  before answering anything is not an answer: the request goes once more on a new connection (the
  receiver de-duplicates by delivery id, so a second copy is harmless).
- Redirects are not followed; no proxy; credentials in the URL become Basic authentication.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

from smsgate.errors import SmsgateError
from smsgate.protocols.http1 import HttpProtocolError, Response, ResponseParser, request_bytes

MAX_CACHED_URLS = 10_000
CLOSE_WAIT_S = 1.0
# Characters left as they are in a request target (RFC 3986 reserved and "%"); others are encoded.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_HOST_FORBIDDEN = frozenset(" \t\r\n\x00/\\?#@")


class HttpClientError(SmsgateError):
    """A request that got no usable HTTP answer."""


class InvalidUrl(HttpClientError):
    """The URL cannot be requested (scheme, host or port)."""


class ConnectFailed(HttpClientError):
    """No connection: the name did not resolve, its addresses were refused, or nobody listened."""


class RequestTimeout(HttpClientError):
    """The connect or the answer took longer than its bound."""


class ConnectionDropped(HttpClientError):
    """The connection broke or the answer was not HTTP."""


class _Unanswered(ConnectionDropped):
    """The connection ended before a single byte of the answer: safe to try on a new one."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to try in order; ConnectFailed when there are none to use."""
        ...


@dataclass(frozen=True, slots=True)
class _Target:
    origin: str
    tls: bool
    host: str  # for the resolver and TLS
    port: int
    host_header: str
    path: str  # request target: path and query, percent-encoded
    authorization: str | None


def parse_target(url: str) -> _Target:
    """Where and what to request for ``url``; InvalidUrl when it cannot be requested."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidUrl(f"invalid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidUrl(f"unsupported scheme {scheme!r}")
    host = parts.hostname or ""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidUrl(f"invalid host name: {exc}") from exc
    if not host or _HOST_FORBIDDEN.intersection(host) or not host.isprintable() or port == 0:
        raise InvalidUrl("invalid host or port")
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    named = f"[{host}]" if ":" in host else host
    host_header = named if port == default_port else f"{named}:{port}"
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_TARGET_SAFE)
    authorization = None
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return _Target(
        f"{scheme}://{named}:{port}",
        scheme == "https",
        host,
        port,
        host_header,
        path,
        authorization,
    )


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time."""

    def __init__(self, keep: int, max_body: int) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = ResponseParser(keep=keep, max_body=max_body)
        self._reading = False  # a request is waiting for its response
        self._waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.idle_since = 0.0
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a stream transport (TCP/TLS)

    def data_received(self, data: bytes) -> None:
        if not self._reading:  # bytes nobody asked for: the connection is not usable
            self.close()
            return
        try:
            response = self._parser.feed(data)
        except HttpProtocolError as exc:
            self._fail(ConnectionDropped(f"RemoteProtocolError: {exc}"))
            self.close()
            return
        if response is not None:
            self._reading = False
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(response)

    def eof_received(self) -> bool:
        self._ended()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended()
        if not self.lost.done():
            self.lost.set_result(None)

    def _ended(self) -> None:
        self.closed = True
        if not self._reading:
            return
        self._reading = False
        try:
            response = self._parser.eof()
        except HttpProtocolError as exc:
            started = self._parser.started
            self._fail(ConnectionDropped(str(exc)) if started else _Unanswered(str(exc)))
            return
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(response)

    def _fail(self, exc: Exception) -> None:
        self._reading = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    async def exchange(self, request: bytes, timeout_s: float) -> Response:
        """Send one request and wait at most ``timeout_s`` for its response (RequestTimeout)."""
        if self.closed or self._transport is None or self._transport.is_closing():
            raise _Unanswered("the connection was closed")
        loop = asyncio.get_running_loop()
        self._reading = True
        self._waiter = loop.create_future()
        # A plain timer: a fraction of the cost of asyncio.timeout(), and this runs per callback.
        timer = loop.call_later(timeout_s, self._timed_out, timeout_s)
        try:
            self._transport.write(request)
            return await self._waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _timed_out(self, timeout_s: float) -> None:
        self._fail(RequestTimeout(f"no answer within {timeout_s:g} s"))
        self.abort()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()


class KeepAliveClient:
    """Requests over keep-alive connections per origin; an async context manager that closes them."""

    def __init__(
        self,
        resolver: Resolver,
        ssl_context: ssl.SSLContext,
        *,
        connect_timeout_s: float,
        timeout_s: float,
        idle_per_origin: int,
        keepalive_s: float = 15.0,
        keep: int = 200,
        max_body: int = 64 * 1024,
    ) -> None:
        self._resolver = resolver
        self._ssl = ssl_context
        self._connect_timeout_s = connect_timeout_s
        self._timeout_s = timeout_s
        self._idle_per_origin = idle_per_origin
        self._keepalive_s = keepalive_s
        self._keep = keep
        self._max_body = max_body
        self._idle: dict[str, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._targets: dict[str, _Target] = {}
        self._next_sweep = 0.0

    async def __aenter__(self) -> KeepAliveClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection and wait (briefly) until the transports have let go."""
        connections, self._open = list(self._open), set()
        self._idle.clear()
        for connection in connections:
            connection.close()
        if connections:
            await asyncio.wait([c.lost for c in connections], timeout=CLOSE_WAIT_S)

    async def post(self, url: str, headers: Sequence[tuple[str, str]], body: bytes) -> Response:
        """POST ``body`` to ``url``; the response (any status) or an HttpClientError."""
        return await self._request("POST", url, headers, body)

    async def get(self, url: str, headers: Sequence[tuple[str, str]] = ()) -> Response:
        """GET ``url``; the response (any status) or an HttpClientError."""
        return await self._request("GET", url, headers, b"")

    async def _request(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Response:
        target = self._targets.get(url)
        if target is None:
            target = parse_target(url)
            if len(self._targets) >= MAX_CACHED_URLS:
                self._targets.clear()
            self._targets[url] = target
        if target.authorization is not None:
            headers = [*headers, ("Authorization", target.authorization)]
        try:
            request = request_bytes(method, target.path, target.host_header, headers, body)
        except ValueError as exc:
            raise InvalidUrl(str(exc)) from exc
        connection, reused = await self._checkout(target)
        try:
            response = await connection.exchange(request, self._timeout_s)
        except _Unanswered:
            self._discard(connection)
            if not reused:
                raise
            # A kept-alive connection the server had closed: once more on a new one.
            connection = await self._connect(target)
            try:
                response = await connection.exchange(request, self._timeout_s)
            except BaseException:
                self._discard(connection)
                raise
        except BaseException:
            self._discard(connection)
            raise
        self._checkin(target.origin, connection, response.keep_alive)
        return response

    async def _checkout(self, target: _Target) -> tuple[_Connection, bool]:
        idle = self._idle.get(target.origin)
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self._keepalive_s:
                return connection, True
            self._drop(connection)
        return await self._connect(target), False

    def _checkin(self, origin: str, connection: _Connection, keep_alive: bool) -> None:
        now = asyncio.get_running_loop().time()
        idle = self._idle.setdefault(origin, [])
        if not keep_alive or connection.closed or len(idle) >= self._idle_per_origin:
            self._drop(connection)
        else:
            connection.idle_since = now
            idle.append(connection)
        if now >= self._next_sweep:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Close connections idle for longer than ``keepalive_s`` (or closed by the server)."""
        self._next_sweep = now + self._keepalive_s
        for origin, idle in list(self._idle.items()):
            fresh = [c for c in idle if not c.closed and now - c.idle_since < self._keepalive_s]
            for connection in idle:
                if connection not in fresh:
                    self._drop(connection)
            if fresh:
                self._idle[origin] = fresh
            else:
                del self._idle[origin]

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    def _discard(self, connection: _Connection) -> None:
        """Abort a connection in an unknown state (a failed or cancelled request)."""
        connection.abort()
        self._open.discard(connection)

    async def _connect(self, target: _Target) -> _Connection:
        loop = asyncio.get_running_loop()
        last: HttpClientError | None = None
        for address in await self._resolver.resolve(target.host, target.port):
            try:
                async with asyncio.timeout(self._connect_timeout_s):
                    _, connection = await loop.create_connection(
                        lambda: _Connection(self._keep, self._max_body),
                        address,
                        target.port,
                        ssl=self._ssl if target.tls else None,
                        server_hostname=target.host if target.tls else None,
                    )
            except TimeoutError:
                last = RequestTimeout(
                    f"connect to {address} took over {self._connect_timeout_s:g} s"
                )
            except (OSError, ssl.SSLError) as exc:
                last = ConnectFailed(str(exc) or type(exc).__name__)
            else:
                self._open.add(connection)
                return connection
        if last is None:
            raise ConnectFailed(f"no address to connect to for {target.host}")
        raise last


def ssl_context() -> ssl.SSLContext:
    """The default trust store and host-name check; HTTP/1.1 only."""
    context = ssl.create_default_context()
    with contextlib.suppress(NotImplementedError):
        context.set_alpn_protocols(["http/1.1"])
    return context
