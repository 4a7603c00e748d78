"""Fixtures of the SMTP ingress tests: a real listener on 127.0.0.1:0 (plain with STARTTLS, and
implicit TLS) over the test database, an account, and independent SMTP clients (aiosmtplib, the
standard library's smtplib)."""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest
from sqlalchemy import RowMapping, select

from smsgate.config import SmtpSettings
from smsgate.domain.pricing import TariffRule
from smsgate.ingress.smtp.handler import SmtpIngress
from smsgate.ingress.smtp.server import SmtpServer
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import accounts, messages
from tests.support.tls import self_signed_certificate

PASSWORD = "password-1"
PRICE = Decimal("2.50")
MTS, MEGAFON = "79161234567", "79261234567"
INVALID = "79001234567"  # outside every range of the demo numbering plan


@dataclass(frozen=True, slots=True)
class Alice:
    account: AccountRecord
    api_key: str


@pytest.fixture
async def alice(services: Services) -> Alice:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=PRICE))
    await services.senders.add(account, "Shop", approve=True)
    _, key = await services.accounts.new_api_key("alice")
    return Alice(account, key)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl; the ``cryptography`` package is not
    installed)."""
    directory = tmp_path_factory.mktemp("smtp-tls")
    cert, key = self_signed_certificate(directory)
    return cert, key


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def smtp_settings(certificate: tuple[Path, Path]) -> SmtpSettings:
    cert, key = certificate
    return SmtpSettings(port=0, tls_port=0, tls_cert=str(cert), tls_key=str(key))


@pytest.fixture
async def smtp_server(services: Services, smtp_settings: SmtpSettings) -> AsyncIterator[SmtpServer]:
    ingress = SmtpIngress(services, smtp_settings)
    async with SmtpServer(smtp_settings, ingress, host="127.0.0.1") as server:
        yield server


StartServer = Callable[..., Awaitable[SmtpServer]]


@pytest.fixture
async def with_settings(
    services: Services, smtp_settings: SmtpSettings
) -> AsyncIterator[StartServer]:
    """Start a server with changed settings: ``await with_settings(max_recipients=3)``."""
    opened: list[SmtpServer] = []

    async def start(**changes: Any) -> SmtpServer:
        settings = replace(smtp_settings, **changes)
        server = SmtpServer(settings, SmtpIngress(services, settings), host="127.0.0.1")
        opened.append(await server.__aenter__())
        return server

    yield start
    for server in opened:
        await server.close()


def mail(
    body: str | bytes,
    *,
    to: Sequence[str] = ("send@smsgate.test",),
    subject: str = "",
    charset: str | None = "utf-8",
    sender: str = "shop@example.com",
) -> bytes:
    """An RFC 5322 message with a text/plain body (``charset=None``: none declared)."""
    octets = body if isinstance(body, bytes) else body.encode(charset or "utf-8")
    content_type = "text/plain" + (f"; charset={charset}" if charset else "")
    headers = [
        f"From: {sender}",
        f"To: {', '.join(to)}",
        f"Content-Type: {content_type}",
        "Content-Transfer-Encoding: 8bit",
    ]
    if subject:
        headers.append(f"Subject: {subject}")
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + octets


async def deliver(
    port: int,
    message: bytes | EmailMessage,
    *,
    to: Sequence[str] = ("send@smsgate.test",),
    sender: str = "shop@example.com",
) -> tuple[int, str]:
    """One mail over a fresh plain connection with aiosmtplib: the final reply (code, text) of the
    transaction — the DATA reply, or the first refusal before it."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        return await transaction(client, message, to=to, sender=sender)


async def transaction(
    client: aiosmtplib.SMTP,
    message: bytes | EmailMessage,
    *,
    to: Sequence[str] = ("send@smsgate.test",),
    sender: str = "shop@example.com",
) -> tuple[int, str]:
    try:
        await client.mail(sender)
        for address in to:
            await client.rcpt(address)
        data = message.as_bytes() if isinstance(message, EmailMessage) else message
        response = await client.data(data)
    except aiosmtplib.SMTPResponseException as exc:
        await client.rset()
        return exc.code, exc.message
    return response.code, response.message


def smtplib_send(port: int, message: bytes, to: Sequence[str], **how: Any) -> tuple[int, str]:
    """One mail with the standard library's client (blocking: run it in a thread). ``how``:
    ``tls`` (implicit), ``starttls``, ``context``, ``login`` = (user, password)."""
    context: ssl.SSLContext | None = how.get("context")
    client: smtplib.SMTP
    if how.get("tls"):
        client = smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=10)
    else:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    with client:
        client.ehlo()
        if how.get("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if how.get("login"):
            client.login(*how["login"])
        try:
            client.sendmail("shop@example.com", list(to), message)
        except smtplib.SMTPDataError as exc:
            error = exc.smtp_error
            return exc.smtp_code, error.decode() if isinstance(error, bytes) else error
        return client.noop()[0], "sent"


async def run_smtplib(port: int, message: bytes, to: Sequence[str], **how: Any) -> tuple[int, str]:
    return await asyncio.to_thread(smtplib_send, port, message, to, **how)


async def stored(services: Services) -> Sequence[RowMapping]:
    async with services.db.read() as conn:
        result = await conn.execute(select(messages).order_by(messages.c.id))
        return result.mappings().all()


async def balance(services: Services, login: str = "alice") -> Decimal:
    async with services.db.read() as conn:
        query = select(accounts.c.balance).where(accounts.c.login == login)
        return Decimal((await conn.execute(query)).scalar_one())


async def status(client: httpx.AsyncClient, request_id: str, phone: str) -> dict[str, Any]:
    """status.php ``all=1`` in JSON, as alice."""
    query = {
        "login": "alice",
        "psw": PASSWORD,
        "id": request_id,
        "phone": phone,
        "all": "1",
        "fmt": "3",
    }
    response = await client.get("/sys/status.php", params=query)
    body: dict[str, Any] = json.loads(response.text)
    return body
