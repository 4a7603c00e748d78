"""The 100 KB limit after DATA (protocols.md §2.1: "more than 100 KB (102 400 octets) → ``552
5.3.4``, at ``MAIL FROM … SIZE=`` or after DATA"), at its exact boundary, with both clients.

How the size is counted: the product compares the length of the message *after* dot-unstuffing
(``envelope.original_content`` in ``SmtpIngress._deliver``: CRLF line ends included, neither the
terminating ``.`` line nor the doubled quoting dots), which is the message size of RFC 1870 §4 and
what a client declares with ``SIZE=``. aiosmtpd, which reads the DATA lines, counts the octets as
they arrive (quoting dots included); ``GatewaySmtp`` holds that count only to twice the limit, so
the handler's count decides. Without lines starting with ``.`` both counts agree;
``test_quoting_dots_do_not_count`` covers the case where they do not.
"""

from __future__ import annotations

import asyncio
import smtplib
from decimal import Decimal
from typing import Literal

import aiosmtplib
import httpx
import pytest

from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.container import Services
from tests.ingress.smtp.conftest import MTS, PASSWORD, Alice, balance, status, stored

LIMIT = 102_400  # smtp.max_message, advertised as SIZE 102400
ClientName = Literal["smtplib", "aiosmtplib"]
CLIENTS: tuple[ClientName, ...] = ("smtplib", "aiosmtplib")
FILLER = 80  # octets per filler line, CRLF included


def sized(total: int, text: str, *, dotted: bool = False) -> bytes:
    """A mail of exactly ``total`` octets with CRLF line ends, ending in CRLF (so that no client adds
    one): the colon body inside ``[text]`` … ``[/text]`` (§2.2), then filler lines outside it, each
    starting with ``.`` when ``dotted`` (every such line gains a quoting dot on the wire)."""
    head = (
        "From: shop@example.com\r\n"
        "To: send@smsgate.test\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"[text]alice:{PASSWORD}::::{MTS}:{text}[/text]\r\n"
    ).encode()
    lead = b"." if dotted else b"x"
    line = lead + b"x" * (FILLER - 3) + b"\r\n"
    rest = total - len(head)
    lines, last = divmod(rest - FILLER, FILLER)  # the last line: FILLER..2*FILLER-1 octets
    tail = lead + b"y" * (FILLER + last - 3) + b"\r\n"
    message = head + line * lines + tail
    assert len(message) == total
    return message


def via_smtplib(port: int, message: bytes, size: int | None) -> tuple[int, str]:
    """MAIL (with ``SIZE=`` when given), RCPT, DATA with the standard library's client; the last
    reply. Blocking: run it in a thread."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        options = [f"SIZE={size}"] if size is not None else []
        for code, text in (client.mail("shop@example.com", options), client.rcpt("send@x.test")):
            if code != 250:
                return code, text.decode()
        code, text = client.data(message)
        return code, text.decode()


async def via_aiosmtplib(port: int, message: bytes, size: int | None) -> tuple[int, str]:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        options = [f"SIZE={size}"] if size is not None else []
        try:
            await client.mail("shop@example.com", options=options)
            await client.rcpt("send@x.test")
            reply = await client.data(message)
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code, exc.message
        return reply.code, reply.message


async def send(name: ClientName, port: int, message: bytes, size: int | None) -> tuple[int, str]:
    if name == "smtplib":
        return await asyncio.to_thread(via_smtplib, port, message, size)
    return await via_aiosmtplib(port, message, size)


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_exactly_102400_octets_is_accepted(
    client: httpx.AsyncClient,
    smtp_server: SmtpServer,
    alice: Alice,
    client_name: ClientName,
) -> None:
    message = sized(LIMIT, "at the limit")
    # Declared with SIZE= too: the limit is inclusive at MAIL FROM as well.
    reply = await send(client_name, smtp_server.ports["smtp"], message, LIMIT)
    assert reply == (250, "2.0.0 OK - 1 SMS, ID - 1")
    assert (await status(client, "1", MTS))["message"] == "at the limit"


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_102401_octets_is_552_and_stores_nothing(
    services: Services, smtp_server: SmtpServer, alice: Alice, client_name: ClientName
) -> None:
    message = sized(LIMIT + 1, "one octet too many")
    # No SIZE= declared: the refusal comes after DATA.
    reply = await send(client_name, smtp_server.ports["smtp"], message, None)
    assert reply == (552, "5.3.4 message too big")
    assert await stored(services) == []
    assert await balance(services) == Decimal("100")


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_quoting_dots_do_not_count(
    client: httpx.AsyncClient,
    services: Services,
    smtp_server: SmtpServer,
    alice: Alice,
    client_name: ClientName,
) -> None:
    """A message of exactly 102,400 octets whose filler lines start with ``.``: on the wire every
    such line carries a second, quoting dot (RFC 5321 §4.5.2), which is not part of the message
    (RFC 1870 §4: the size excludes "doubled quoting dots"). Declared ``SIZE=102400`` is accepted at
    MAIL FROM, so the mail must be accepted after DATA too."""
    message = sized(LIMIT, "dotted lines", dotted=True)
    reply = await send(client_name, smtp_server.ports["smtp"], message, LIMIT)
    assert reply == (250, "2.0.0 OK - 1 SMS, ID - 1")
    assert (await status(client, "1", MTS))["message"] == "dotted lines"
    assert len(await stored(services)) == 1
