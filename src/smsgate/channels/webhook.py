"""HTTP POSTs to clients' callback handlers, guarded against server-side request forgery.

:func:`build_clients` makes the ``httpx.AsyncClient`` s the callback sender uses: no redirects, no proxy
from the environment, connect and read timeouts, and a network backend that resolves the host itself,
refuses loopback, link-local and private addresses (unless ``callbacks.allow_private_networks``) and
then connects to the very address it checked. The check happens at connect time, for every new
connection, so a name that resolved to a public address when the URL was configured and to
127.0.0.1 later (DNS rebinding) is still refused. TLS still verifies the URL's host name.

:class:`WebhookPoster` sends one body and reports what came back: the status, a short sanitised
excerpt of the body or of the error, and Retry-After. Bodies are never kept beyond that excerpt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from smsgate.config import CallbacksSettings
from smsgate.domain.callbacks import is_public_address

EXCERPT_BYTES = 200
REFUSED = "refused"


class RefusedAddress(httpcore.ConnectError):
    """The handler's host resolves to an address callbacks may not reach."""


@dataclass(frozen=True, slots=True)
class PostResult:
    """What one POST came to. ``status`` is None when no HTTP answer came back."""

    status: int | None
    excerpt: str
    retry_after: str | None = None
    # True when the address was refused by the forgery rule (no point in retrying).
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class AddressGuard:
    """Resolves a host and refuses non-public addresses unless private networks are allowed."""

    def __init__(self, *, allow_private_networks: bool) -> None:
        self._allow_private = allow_private_networks

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, in resolver order; RefusedAddress when any is refused
        (a name with one private address among public ones is refused as a whole)."""
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self._allow_private:
            refused = [a for a in addresses if not is_public_address(a)]
            if refused:
                raise RefusedAddress(
                    f"{REFUSED}: {host} resolves to {refused[0]}, a loopback, link-local or "
                    "private address (callbacks.allow_private_networks is off)"
                )
        return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check in front of every TCP connect."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend) -> None:
        self._guard = guard
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in await self._guard.resolve(host, port):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # resolve() returns at least one address or raises
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("callbacks do not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool whose network backend is :class:`GuardedBackend`.

    httpx does not take a network backend, so the pool it built is replaced by one that does; the
    request mapping and exception translation of httpx stay as they are.
    """

    def __init__(
        self, guard: AddressGuard, limits: httpx.Limits, ssl_context: ssl.SSLContext
    ) -> None:
        # The shared context: httpx would otherwise load the CA store again for each client.
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard, httpcore.AnyIOBackend()),
        )


class ClientPool:
    """HTTP clients for callbacks, one per concurrent POST; an async context manager.

    httpcore's connection pool spends time proportional to its connections on every request, so
    one client carrying hundreds of concurrent POSTs spends most of its time there. Each POST here
    borrows a client of its own instead (with its kept-alive connections); the sender never has
    more POSTs under way than ``callbacks.concurrency``, the number of clients.
    """

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self._clients = clients
        self._free = list(clients)

    def borrow(self) -> httpx.AsyncClient:
        if not self._free:
            raise RuntimeError("more concurrent callbacks than clients")
        return self._free.pop()

    def give_back(self, client: httpx.AsyncClient) -> None:
        self._free.append(client)

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self._clients:
            await client.aclose()


def build_clients(settings: CallbacksSettings) -> ClientPool:
    """The HTTP clients for callbacks: no redirects, no proxy from the environment, timeouts, and
    the address guard on every connect."""
    guard = AddressGuard(allow_private_networks=settings.allow_private_networks)
    ssl_context = ssl.create_default_context()
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=15.0)
    timeout = httpx.Timeout(float(settings.timeout), connect=float(settings.connect_timeout))
    return ClientPool(
        [
            httpx.AsyncClient(
                transport=GuardedTransport(guard, limits, ssl_context),
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,
            )
            for _ in range(settings.concurrency)
        ]
    )


class WebhookPoster:
    """POSTs callback bodies with the delivery id and smsgate's User-Agent."""

    def __init__(self, clients: ClientPool, user_agent: str) -> None:
        self._clients = clients
        self._user_agent = user_agent

    async def post(self, url: str, body: bytes, content_type: str, delivery_id: str) -> PostResult:
        headers = {
            "Content-Type": content_type,
            "User-Agent": self._user_agent,
            "X-Smsgate-Delivery": delivery_id,
        }
        client = self._clients.borrow()
        try:
            async with client.stream("POST", url, content=body, headers=headers) as response:
                excerpt = await _excerpt(response)
                return PostResult(
                    response.status_code, excerpt, response.headers.get("retry-after")
                )
        except httpx.ConnectError as exc:
            text = str(exc)
            return PostResult(None, _clean(text), refused=text.startswith(REFUSED))
        except httpx.TimeoutException as exc:
            return PostResult(None, _clean(f"timeout: {type(exc).__name__}"))
        except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return PostResult(None, _clean(f"{type(exc).__name__}: {exc}"))
        finally:
            self._clients.give_back(client)


async def _excerpt(response: httpx.Response) -> str:
    """At most ``EXCERPT_BYTES`` of the body; the rest is not read into memory."""
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    return _clean(data[:EXCERPT_BYTES].decode("utf-8", "replace"))


def _clean(text: str) -> str:
    """Printable, one line, short: it is shown by the CLI and may come from anyone."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(flat.split())[:EXCERPT_BYTES]
