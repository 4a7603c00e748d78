"""HTTP POSTs to clients' callback handlers, guarded against server-side request forgery.

:func:`build_clients` makes the HTTP client the callback sender uses
(:class:`~smsgate.channels.http_client.KeepAliveClient`: HTTP/1.1 keep-alive connections per handler
origin, no redirects, no proxy, connect and whole-request timeouts) with an :class:`AddressGuard` in
front of every new connection: it resolves the host itself, refuses loopback, link-local and private
addresses (unless ``callbacks.allow_private_networks``), and the client then connects to the very
address it checked. The check happens for every new connection, so a name that resolved to a public
address when the URL was configured and to 127.0.0.1 later (DNS rebinding) is still refused; answers
are cached for ``DNS_TTL_S`` only, so a changed record is seen within that time. TLS still verifies
the URL's host name.

:class:`WebhookPoster` sends one body and reports what came back: the status, a short sanitised
excerpt of the body or of the error, and Retry-After. Bodies are never kept beyond that excerpt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from smsgate.channels.http_client import (
    ConnectFailed,
    HttpClientError,
    KeepAliveClient,
    RequestTimeout,
    ssl_context,
)
from smsgate.config import CallbacksSettings
from smsgate.domain.callbacks import is_public_address

EXCERPT_BYTES = 200
REFUSED = "refused"


# How long a checked DNS answer is used for new connections before the name is resolved again.
DNS_TTL_S = 30.0
MAX_CACHED_NAMES = 4096


class RefusedAddress(ConnectFailed):
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
    """Resolves a host and refuses non-public addresses unless private networks are allowed.

    Allowed answers are kept for ``ttl_s`` (loop time) so that a burst of new connections to one
    handler does not resolve its name each time; refusals are not kept.
    """

    def __init__(self, *, allow_private_networks: bool, ttl_s: float = DNS_TTL_S) -> None:
        self._allow_private = allow_private_networks
        self._ttl_s = ttl_s
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, in resolver order; RefusedAddress when any is refused
        (a name with one private address among public ones is refused as a whole)."""
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            loop = asyncio.get_running_loop()
            cached = self._cache.get((host, port))
            if cached is not None and loop.time() < cached[0]:
                return cached[1]
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ConnectFailed(f"cannot resolve {host}: {exc}") from exc
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
            self._check(host, addresses)
            if len(self._cache) >= MAX_CACHED_NAMES:
                self._cache.clear()
            self._cache[(host, port)] = (loop.time() + self._ttl_s, addresses)
            return addresses
        self._check(host, addresses)
        return addresses

    def _check(self, host: str, addresses: list[str]) -> None:
        if self._allow_private:
            return
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise RefusedAddress(
                f"{REFUSED}: {host} resolves to {refused[0]}, a loopback, link-local or "
                "private address (callbacks.allow_private_networks is off)"
            )


def build_clients(settings: CallbacksSettings) -> KeepAliveClient:
    """The HTTP client for callbacks: keep-alive connections (as many per handler origin as the
    sender may have callbacks in flight to it), timeouts, and the address guard on every connect."""
    return KeepAliveClient(
        AddressGuard(allow_private_networks=settings.allow_private_networks),
        ssl_context(),
        connect_timeout_s=float(settings.connect_timeout),
        timeout_s=float(settings.timeout),
        idle_per_origin=settings.per_url_concurrency,
        keep=EXCERPT_BYTES,
    )


class WebhookPoster:
    """POSTs callback bodies with the delivery id and smsgate's User-Agent."""

    def __init__(self, client: KeepAliveClient, user_agent: str) -> None:
        self._client = client
        self._user_agent = user_agent

    async def post(self, url: str, body: bytes, content_type: str, delivery_id: str) -> PostResult:
        headers = (
            ("Content-Type", content_type),
            ("User-Agent", self._user_agent),
            ("X-Smsgate-Delivery", delivery_id),
        )
        try:
            response = await self._client.post(url, headers, body)
        except RefusedAddress as exc:
            return PostResult(None, _clean(str(exc)), refused=True)
        except RequestTimeout as exc:
            return PostResult(None, _clean(f"timeout: {exc}"))
        except HttpClientError as exc:
            return PostResult(None, _clean(f"{type(exc).__name__}: {exc}"))
        excerpt = _clean(response.body[:EXCERPT_BYTES].decode("utf-8", "replace"))
        return PostResult(response.status, excerpt, response.header("retry-after"))


def _clean(text: str) -> str:
    """Printable, one line, short: it is shown by the CLI and may come from anyone."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(flat.split())[:EXCERPT_BYTES]
