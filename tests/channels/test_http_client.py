"""The callback HTTP client over real sockets: keep-alive reuse, TLS, timeouts, a kept-alive
connection closed by the server, broken answers, Basic credentials and the address guard."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsgate.channels.http_client import (
    ConnectFailed,
    ConnectionDropped,
    InvalidUrl,
    KeepAliveClient,
    RequestTimeout,
    parse_target,
    ssl_context,
)
from smsgate.channels.webhook import AddressGuard, RefusedAddress, WebhookPoster
from tests.support.scripted_http import OK, ScriptedServer
from tests.support.tls import self_signed_certificate


def client(**kw: float) -> KeepAliveClient:
    options: dict[str, float] = {"connect_timeout_s": 5.0, "timeout_s": 5.0} | kw
    return KeepAliveClient(
        AddressGuard(allow_private_networks=True),
        ssl_context(),
        connect_timeout_s=options["connect_timeout_s"],
        timeout_s=options["timeout_s"],
        idle_per_origin=4,
    )


@pytest.fixture
async def ok_server() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer(lambda n, r: OK) as server:
        yield server


async def test_connections_are_kept_alive_and_reused(ok_server: ScriptedServer) -> None:
    url = f"http://127.0.0.1:{ok_server.port}/hook?fmt=3&md5=1"
    async with client() as http:
        for n in range(5):
            response = await http.post(url, [("X-Smsgate-Delivery", str(n))], b"a=b")
            assert (response.status, response.body) == (200, b"ok")
        await asyncio.gather(*(http.post(url, [], b"x") for _ in range(3)))
    assert ok_server.connections == 3  # one for the sequence, three at once (one reused)
    first = ok_server.requests[0]
    assert first.startswith(b"POST /hook?fmt=3&md5=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{ok_server.port}\r\n".encode() in first
    assert first.endswith(b"Content-Length: 3\r\n\r\na=b")


async def test_over_tls_with_the_host_name_checked(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with ScriptedServer(lambda n, r: OK, server_ctx) as server:
        guard = AddressGuard(allow_private_networks=True)
        async with KeepAliveClient(
            guard, trusting, connect_timeout_s=5, timeout_s=5, idle_per_origin=2
        ) as http:
            for _ in range(2):
                response = await http.post(f"https://127.0.0.1:{server.port}/h", [], b"x")
                assert response.status == 200
        assert server.connections == 1
        async with client() as http:  # the default trust store does not know the certificate
            with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await http.post(f"https://127.0.0.1:{server.port}/h", [], b"x")


async def test_no_answer_in_time_is_a_timeout_and_the_connection_is_dropped() -> None:
    async with ScriptedServer(lambda n, r: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab") as s:
        async with client(timeout_s=0.2) as http:
            with pytest.raises(RequestTimeout, match="no answer within 0.2 s"):
                await http.post(f"http://127.0.0.1:{s.port}/", [], b"x")
            s.answer = lambda n, r: OK
            response = await http.post(f"http://127.0.0.1:{s.port}/", [], b"x")
            assert response.status == 200
        assert s.connections == 2  # the half-answered connection was not used again


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_once(
    ok_server: ScriptedServer,
) -> None:
    url = f"http://127.0.0.1:{ok_server.port}/"
    async with client() as http:
        assert (await http.post(url, [], b"1")).status == 200
        # The server drops the idle connection after reading the next request, without answering.
        ok_server.answer = lambda n, r: None if n == 2 else OK
        assert (await http.post(url, [], b"2")).status == 200
    assert ok_server.connections == 2
    assert len(ok_server.requests) == 3  # the second request went twice


async def test_a_new_connection_closed_without_an_answer_is_not_retried() -> None:
    async with ScriptedServer(lambda n, r: None) as server, client() as http:
        with pytest.raises(ConnectionDropped, match="before any response"):
            await http.post(f"http://127.0.0.1:{server.port}/", [], b"x")
    assert len(server.requests) == 1


async def test_a_broken_answer_and_connection_close() -> None:
    replies = {1: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"}
    scripted = ScriptedServer(lambda n, r: replies.get(n, b"garbage\r\n\r\n"))
    async with scripted as server, client() as http:
        assert (await http.post(f"http://127.0.0.1:{server.port}/", [], b"x")).status == 200
        with pytest.raises(ConnectionDropped, match="RemoteProtocolError"):
            await http.post(f"http://127.0.0.1:{server.port}/", [], b"x")
    assert server.connections == 2  # "Connection: close" was honoured


async def test_stray_bytes_after_an_answer_retire_the_connection() -> None:
    async with ScriptedServer(lambda n, r: OK + b"stray") as server, client() as http:
        for _ in range(2):
            response = await http.post(f"http://127.0.0.1:{server.port}/", [], b"x")
            assert (response.status, response.body) == (200, b"ok")
    assert server.connections == 2


async def test_a_body_that_runs_until_the_close() -> None:
    scripted = ScriptedServer(lambda n, r: b"HTTP/1.1 503 Busy\r\n\r\nnot now")
    scripted.close_after_each = True
    async with scripted as server, client() as http:
        response = await http.post(f"http://127.0.0.1:{server.port}/", [], b"x")
    assert (response.status, response.body, response.keep_alive) == (503, b"not now", False)


async def test_credentials_in_the_url_become_basic_authentication(
    ok_server: ScriptedServer,
) -> None:
    async with client() as http:
        await http.post(f"http://us%40er:p%3Ass@127.0.0.1:{ok_server.port}/", [], b"x")
    token = base64.b64encode(b"us@er:p:ss").decode()
    assert f"Authorization: Basic {token}\r\n".encode() in ok_server.requests[0]


async def test_nobody_listening() -> None:
    async with ScriptedServer(lambda n, r: OK) as server:
        port = server.port
    async with client() as http:
        with pytest.raises(ConnectFailed):
            await http.post(f"http://127.0.0.1:{port}/", [], b"x")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "http:///x", "http://a b/", "http://example.com:0/", "http://[::1"],
)
def test_urls_that_cannot_be_requested(url: str) -> None:
    with pytest.raises(InvalidUrl):
        parse_target(url)


def test_targets_are_percent_encoded_and_hosts_idna() -> None:
    target = parse_target("https://пример.рф/п у?a=б&c=%20#frag")
    assert target.host == "xn--e1afmkfd.xn--p1ai"
    assert target.host_header == "xn--e1afmkfd.xn--p1ai"
    assert target.path == "/%D0%BF%20%D1%83?a=%D0%B1&c=%20"
    assert (target.tls, target.port, target.origin) == (
        True,
        443,
        "https://xn--e1afmkfd.xn--p1ai:443",
    )
    assert parse_target("http://[::1]:8080/").host_header == "[::1]:8080"


async def test_guard_refuses_private_addresses_at_connect_and_caches_allowed_names() -> None:
    strict = AddressGuard(allow_private_networks=False)
    for host in ("127.0.0.1", "localhost", "10.1.2.3", "[::1]"):
        with pytest.raises(RefusedAddress, match="refused"):
            await strict.resolve(host, 80)
    relaxed = AddressGuard(allow_private_networks=True, ttl_s=60)
    first = await relaxed.resolve("localhost", 80)
    assert first and await relaxed.resolve("localhost", 80) is first  # the cached answer


async def test_poster_reports_refusals_and_excerpts(ok_server: ScriptedServer) -> None:
    strict = KeepAliveClient(
        AddressGuard(allow_private_networks=False),
        ssl_context(),
        connect_timeout_s=5,
        timeout_s=5,
        idle_per_origin=1,
    )
    async with strict:
        result = await WebhookPoster(strict, "ua").post(
            f"http://127.0.0.1:{ok_server.port}/", b"x", "text/plain", "1"
        )
    assert result.refused and result.status is None and result.excerpt.startswith("refused")
    ok_server.answer = lambda n, r: (
        b"HTTP/1.1 429 X\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nslow"
    )
    async with client() as http:
        result = await WebhookPoster(http, "ua").post(
            f"http://127.0.0.1:{ok_server.port}/", b"x", "text/plain", "1"
        )
    assert (result.status, result.excerpt, result.retry_after, result.ok) == (
        429,
        "slow",
        "7",
        False,
    )
    assert b"User-Agent: ua\r\n" in ok_server.requests[-1]
    assert b"X-Smsgate-Delivery: 1\r\n" in ok_server.requests[-1]
