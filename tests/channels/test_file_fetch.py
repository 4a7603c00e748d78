"""send.php ``fileurl`` (http-api.md §2.1): the file fetched over a real socket, and its refusals.
A mail=1 send carrying one to the relay: tests/channels/test_email_delivery.py."""

from __future__ import annotations

import pytest

from smsgate.channels.file_fetch import MIN_BYTES, fetch_file
from smsgate.domain.email_delivery import MailAttachment
from smsgate.errors import FileUnavailable
from tests.support.scripted_http import ScriptedServer, reply

PDF = b"%PDF-1.4 " + bytes(range(256))


async def fetch(url: str, *, max_bytes: int = 10_000, private: bool = True) -> MailAttachment:
    return await fetch_file(url, max_bytes=max_bytes, timeout_s=5, allow_private_networks=private)


async def test_the_file_its_name_and_type() -> None:
    answer = reply("200 OK", PDF, "Content-Type: application/pdf; qs=1")
    async with ScriptedServer(lambda n, r: answer) as server:
        base = f"http://127.0.0.1:{server.port}"
        by_path = await fetch(f"{base}/files/%D1%81%D1%87%D1%91%D1%82.pdf?v=2")
        server.answer = lambda n, r: reply(
            "200 OK", PDF, 'Content-Disposition: attachment; filename="invoice 7.pdf"'
        )
        by_header = await fetch(f"{base}/download")
    assert by_path == MailAttachment("счёт.pdf", "application/pdf", PDF)
    assert by_header == MailAttachment("invoice 7.pdf", "application/octet-stream", PDF)
    request = server.requests[0]
    assert request.startswith(b"GET /files/%D1%81%D1%87%D1%91%D1%82.pdf?v=2 HTTP/1.1\r\n")
    assert b"content-length" not in request.lower()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (reply("404 Not Found", PDF), "HTTP 404"),
        (reply("302 Found", b"", "Location: http://example.com/x"), "HTTP 302"),  # not followed
        (reply("200 OK", b"x" * (MIN_BYTES - 1)), f"fewer than {MIN_BYTES} octets"),
        (reply("200 OK", b"x" * 10_001), "larger than 10000 octets"),
    ],
)
async def test_what_cannot_be_attached(answer: bytes, reason: str) -> None:
    async with ScriptedServer(lambda n, r: answer) as server:
        with pytest.raises(FileUnavailable, match=reason):
            await fetch(f"http://127.0.0.1:{server.port}/f")


async def test_a_file_of_exactly_the_minimum_is_taken() -> None:
    body = b"x" * MIN_BYTES
    async with ScriptedServer(lambda n, r: reply("200 OK", body)) as server:
        assert (await fetch(f"http://127.0.0.1:{server.port}/f")).data == body


async def test_private_addresses_unreachable_hosts_and_bad_urls_are_refused() -> None:
    async with ScriptedServer(lambda n, r: reply("200 OK", PDF)) as server:
        with pytest.raises(FileUnavailable, match="private address"):
            await fetch(f"http://127.0.0.1:{server.port}/f", private=False)
        assert server.requests == []  # refused before connecting
    with pytest.raises(FileUnavailable):
        await fetch(f"http://127.0.0.1:{server.port}/f")  # nobody listens there any more
    with pytest.raises(FileUnavailable, match="scheme"):
        await fetch("file:///etc/passwd")
