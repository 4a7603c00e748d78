"""E-mail end to end (issue 9): send.php with mail=1 → the dispatcher with the e-mail channel → a real
SMTP relay (aiosmtpd on 127.0.0.1) → status.php, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from smsgate.channels.email import EmailChannel
from smsgate.config import Settings
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.schema import events, mail_attachments, messages
from tests.conftest import make_settings, table_count
from tests.peers.smtp_relay import SmtpRelay
from tests.support.clock import ManualClock
from tests.support.scripted_http import ScriptedServer, reply

PASSWORD = "password-1"
SENDER = "shop@example.ru"
SUBJECT = "Счёт за ноябрь"
BODY = "Здравствуйте! Счёт во вложении."
PDF = b"%PDF-1.4 " + bytes(range(256)) * 4


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """As everywhere, but fileurl may reach 127.0.0.1, where the tests serve their files."""
    base = make_settings(database_url, tmp_path)
    email = dataclasses.replace(base.email, fileurl_allow_private_networks=True)
    return dataclasses.replace(base, email=email)


@pytest.fixture
async def alice(services: Services) -> str:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    await services.senders.add(account, SENDER, approve=True)
    await services.senders.add(account, "Shop", approve=True)
    return "alice"


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    relay = SmtpRelay()  # not listening yet: each test starts it when it wants the relay up
    yield relay
    await relay.stop()


async def send_mail(
    client: httpx.AsyncClient,
    to: str = "ivan@example.ru",
    files: dict[str, tuple[str, bytes, str]] | None = None,
    **params: str,
) -> dict[str, object]:
    data = {
        "login": "alice",
        "psw": PASSWORD,
        "fmt": "3",
        "mail": "1",
        "phones": to,
        "subj": SUBJECT,
        "mes": BODY,
        "sender": SENDER,
        **params,
    }
    response = await client.post("/sys/send.php", data=data, files=files)
    return dict(response.json())


async def status(client: httpx.AsyncClient, sent: dict[str, object], phone: str) -> tuple[int, int]:
    params = {"login": "alice", "psw": PASSWORD, "fmt": "3", "id": str(sent["id"]), "phone": phone}
    body = (await client.get("/sys/status.php", params=params)).json()
    return int(body["status"]), int(body["err"])


async def history(services: Services) -> list[tuple[int, int]]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(events.c.status, events.c.err).order_by(events.c.id))
        return [(int(s), int(e)) for s, e in rows]


def attachments_of(mail: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    """(file name, MIME type, octets) of each file attached to ``mail``."""
    return [
        (a.get_filename(), a.get_content_type(), a.get_content()) for a in mail.iter_attachments()
    ]


async def test_cyrillic_mail_with_an_attachment_is_delivered(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    alice: str,
) -> None:
    await relay.start()
    files = {"file1": ("счёт №7.pdf", PDF, "application/pdf")}
    sent = await send_mail(client, files=files)
    assert "error" not in sent, sent
    await dispatcher.run_until_idle()
    assert await status(client, sent, "ivan@example.ru") == (1, 0)
    assert await history(services) == [(0, 0), (1, 0)]
    [received] = relay.received
    assert received.rcpt_tos == ("ivan@example.ru",)
    mail = received.parsed()
    assert mail["Subject"] == SUBJECT
    assert mail["From"] == SENDER
    body = mail.get_body(("plain",))
    assert body is not None and body.get_content().strip() == BODY
    assert attachments_of(mail) == [("счёт №7.pdf", "application/pdf", PDF)]
    async with services.db.read() as conn:
        provider_id = (await conn.execute(select(messages.c.provider_id))).scalar_one()
    assert mail["Message-ID"] == f"<{provider_id}@gateway.test>"


async def test_one_stored_attachment_serves_every_recipient(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    alice: str,
) -> None:
    await relay.start()
    files = {"file1": ("a.txt", b"attached text", "text/plain")}
    sent = await send_mail(client, to="a@example.ru,b@example.ru", files=files)
    await dispatcher.run_until_idle()
    assert await table_count(services, "mail_attachments") == 1
    assert len(relay.received) == 2
    for phone in ("a@example.ru", "b@example.ru"):
        assert await status(client, sent, phone) == (1, 0)


async def test_html_mail_is_sent_as_html(
    client: httpx.AsyncClient, relay: SmtpRelay, dispatcher: Dispatcher, alice: str
) -> None:
    await relay.start()
    sent = await send_mail(client, mes="<html><body><b>Привет</b></body></html>")
    await dispatcher.run_until_idle()
    assert await status(client, sent, "ivan@example.ru") == (1, 0)
    assert relay.received[0].parsed().get_content_type() == "text/html"


async def test_unknown_mailbox_is_20_with_err_1(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    alice: str,
) -> None:
    await relay.start()
    relay.refuse_rcpt("nobody@example.ru", "550 5.1.1 No such user here")
    sent = await send_mail(client, to="nobody@example.ru")
    await dispatcher.run_until_idle()
    assert await status(client, sent, "nobody@example.ru") == (20, 1)
    assert await history(services) == [(20, 1)]


async def test_temporary_refusal_is_retried_then_delivered(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    clock: ManualClock,
    alice: str,
) -> None:
    await relay.start()
    relay.refuse_rcpt("ivan@example.ru", "451 4.7.1 Greylisted, try again later")
    sent = await send_mail(client)
    await dispatcher.run_until_idle()
    assert await status(client, sent, "ivan@example.ru") == (-1, 0)
    assert relay.received == []
    await clock.advance(10)  # the first retry comes within 10 s (dispatch/worker.py retry_delay)
    await dispatcher.run_until_idle()
    assert await status(client, sent, "ivan@example.ru") == (1, 0)
    assert len(relay.received) == 1
    assert await history(services) == [(0, 0), (1, 0)]


async def test_relay_down_keeps_messages_queued_until_it_is_back(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    channel: EmailChannel,
    dispatcher: Dispatcher,
    clock: ManualClock,
    alice: str,
) -> None:
    sent = [await send_mail(client, to=f"user{i}@example.ru") for i in range(3)]
    await dispatcher.run_until_idle()
    assert not channel.available
    for _ in range(3):  # a few rounds of backoff against a relay that is still down
        await clock.advance(60)
        await dispatcher.run_until_idle()
    for i, request in enumerate(sent):
        assert await status(client, request, f"user{i}@example.ru") == (-1, 0)
    assert await history(services) == []
    await relay.start()
    await clock.advance(600)
    await dispatcher.run_until_idle()
    for i, request in enumerate(sent):
        assert await status(client, request, f"user{i}@example.ru") == (1, 0)
    assert sorted(m.rcpt_tos[0] for m in relay.received) == [
        f"user{i}@example.ru" for i in range(3)
    ]


async def test_mail_sender_must_be_an_approved_e_mail_sender(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    files = {"file1": ("a.txt", b"attached text", "text/plain")}
    for sender in ("Shop", "other@example.ru"):
        refused = await send_mail(client, files=files, sender=sender)
        assert refused["error_code"] == 6, refused
    # A refused request stores neither messages nor its files.
    assert await table_count(services, "mail_attachments") == 0
    assert await table_count(services, "messages") == 0


async def test_attachments_over_the_limit_are_error_1(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    big = b"x" * (services.settings.email.max_attachments + 1)
    refused = await send_mail(client, files={"file1": ("big.bin", big, "application/x-big")})
    assert refused["error_code"] == 1, refused
    empty = await send_mail(client, files={"file1": ("empty.txt", b"", "text/plain")})
    assert empty["error_code"] == 1, empty
    assert await table_count(services, "messages") == 0


async def test_files_on_other_types_are_not_stored(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    data = {"login": "alice", "psw": PASSWORD, "fmt": "3", "phones": "79161234567", "mes": "hi"}
    files = {"file1": ("a.txt", b"attached text", "text/plain")}
    sent = (await client.post("/sys/send.php", data=data, files=files)).json()
    assert "error" not in sent, sent
    assert await table_count(services, "mail_attachments") == 0


async def test_attachment_rows_belong_to_the_sending_account(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    files = {"file1": ("a.txt", b"attached text", "text/plain")}
    assert "error" not in await send_mail(client, files=files)
    account = await services.accounts.get("alice")
    async with services.db.read() as conn:
        owner = (await conn.execute(select(mail_attachments.c.account_id))).scalar_one()
    assert owner == account.id


# --- fileurl (channels/file_fetch.py) -------------------------------------------------------------


async def test_a_mail_carries_the_file_at_its_fileurl(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    alice: str,
) -> None:
    await relay.start()
    answer = reply("200 OK", PDF, "Content-Type: application/pdf")
    async with ScriptedServer(lambda n, r: answer) as server:
        sent = await send_mail(client, fileurl=f"http://127.0.0.1:{server.port}/invoice.pdf")
    assert "error" not in sent, sent
    await dispatcher.run_until_idle()
    assert await status(client, sent, "ivan@example.ru") == (1, 0)
    [received] = relay.received
    assert attachments_of(received.parsed()) == [("invoice.pdf", "application/pdf", PDF)]


async def test_an_unreachable_fileurl_is_error_1_and_stores_nothing(
    services: Services, client: httpx.AsyncClient, alice: str
) -> None:
    async with ScriptedServer(lambda n, r: reply("404 Not Found", b"")) as server:
        sent = await send_mail(client, fileurl=f"http://127.0.0.1:{server.port}/gone.pdf")
    assert sent["error_code"] == 1, sent
    assert await table_count(services, "messages") == 0
    assert await table_count(services, "mail_attachments") == 0
    assert (await services.accounts.get("alice")).balance == Decimal("100")
