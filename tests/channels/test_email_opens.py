"""Open tracking (issue 9): the pixel of a delivered HTML mail moves it to status 2, once, and a token
can name no other message (of this account or another)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from smsgate.channels.email import EmailChannel
from smsgate.config import Settings
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.email_delivery import open_token
from smsgate.domain.pricing import TariffRule
from smsgate.ingress.http.tracking import PIXEL
from smsgate.services.container import Services
from smsgate.store.schema import events, messages
from tests.conftest import make_settings
from tests.peers.smtp_relay import SmtpRelay
from tests.support.clock import ManualClock

PASSWORD = "password-1"
SECRET = "open-tracking-secret"
HTML = "<html><body><p>Новая коллекция</p></body></html>"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        SMSGATE_EMAIL_TRACK_URL="https://sms.example",
        SMSGATE_EMAIL_TRACK_SECRET=SECRET,
    )


@pytest.fixture
async def accounts(services: Services) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    for login in ("alice", "bob"):
        account = await services.accounts.create(login, PASSWORD, balance=Decimal("100"))
        await services.senders.add(account, f"{login}@shop.example", approve=True)


@pytest.fixture
async def dispatcher(
    services: Services, relay: SmtpRelay, clock: ManualClock
) -> AsyncIterator[Dispatcher]:
    settings = dataclasses.replace(
        services.settings.email,
        host="127.0.0.1",
        port=relay.port,
        default_from="noreply@gateway.test",
        helo_name="smsgate.test",
    )
    async with EmailChannel(settings, clock) as channel:
        yield Dispatcher(services.writer, [channel], clock, seed=1)


async def send(
    client: httpx.AsyncClient, login: str, to: str, mes: str = HTML, **extra: str
) -> dict[str, object]:
    data = {
        "login": login,
        "psw": PASSWORD,
        "fmt": "3",
        "mail": "1",
        "phones": to,
        "subj": "Новости",
        "mes": mes,
        "sender": f"{login}@shop.example",
        **extra,
    }
    body = dict((await client.post("/sys/send.php", data=data)).json())
    assert "error" not in body, body
    return body


async def status(
    client: httpx.AsyncClient, login: str, sent: dict[str, object], phone: str
) -> tuple[int, int]:
    params = {"login": login, "psw": PASSWORD, "fmt": "3", "id": str(sent["id"]), "phone": phone}
    body = (await client.get("/sys/status.php", params=params)).json()
    return int(body["status"]), int(body["err"])


def pixel_path(relay: SmtpRelay, recipient: str) -> str:
    [mail] = [m for m in relay.received if m.rcpt_tos == (recipient,)]
    body = str(mail.parsed().get_content())
    url = body.split('src="', 1)[1].split('"', 1)[0]
    assert url.startswith("https://sms.example/t/")
    return url.removeprefix("https://sms.example")


async def open_pixel(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content == PIXEL


async def test_opening_an_html_mail_marks_it_read_once(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    accounts: None,
) -> None:
    sent = await send(client, "alice", "ivan@example.ru")
    await dispatcher.run_until_idle()
    assert await status(client, "alice", sent, "ivan@example.ru") == (1, 0)
    path = pixel_path(relay, "ivan@example.ru")
    await open_pixel(client, path)
    await open_pixel(client, path)
    assert await status(client, "alice", sent, "ivan@example.ru") == (2, 0)
    async with services.db.read() as conn:
        rows = await conn.execute(select(events.c.status).order_by(events.c.id))
        assert [int(s) for (s,) in rows] == [0, 1, 2]


async def test_tokens_name_only_their_own_message(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    accounts: None,
) -> None:
    alices = await send(client, "alice", "a@example.ru")
    bobs = await send(client, "bob", "b@example.ru")
    await dispatcher.run_until_idle()
    alice_token = pixel_path(relay, "a@example.ru").removeprefix("/t/").removesuffix(".gif")
    alice_id, tag = alice_token.split(".")
    bob_path = pixel_path(relay, "b@example.ru")
    bob_id = bob_path.removeprefix("/t/").split(".")[0]
    # Alice's tag on Bob's message id, a made-up tag, a token under another secret: all refused.
    for forged in (
        f"{bob_id}.{tag}",
        f"{bob_id}.{'a' * 26}",
        open_token(b"another secret", int(bob_id)),
        "not-a-token",
        "x" * 500,
    ):
        await open_pixel(client, f"/t/{forged}.gif")
    assert await status(client, "bob", bobs, "b@example.ru") == (1, 0)
    assert await status(client, "alice", alices, "a@example.ru") == (1, 0)
    await open_pixel(client, bob_path)
    assert await status(client, "bob", bobs, "b@example.ru") == (2, 0)
    assert await status(client, "alice", alices, "a@example.ru") == (1, 0)
    assert alice_id != bob_id


async def test_a_valid_token_changes_only_a_delivered_e_mail(
    services: Services,
    client: httpx.AsyncClient,
    relay: SmtpRelay,
    dispatcher: Dispatcher,
    accounts: None,
) -> None:
    plain = await send(client, "alice", "p@example.ru", mes="no markup")
    queued = await send(client, "alice", "q@example.ru")  # not dispatched yet: status -1
    sms_request = {"login": "alice", "psw": PASSWORD, "fmt": "3", "phones": "79161234567"}
    sms = dict((await client.post("/sys/send.php", data={**sms_request, "mes": "hi"})).json())
    async with services.db.read() as conn:
        ids = dict((await conn.execute(select(messages.c.phone, messages.c.id))).all())
    for phone in ("q@example.ru", "79161234567"):
        await open_pixel(client, f"/t/{open_token(SECRET.encode(), int(ids[phone]))}.gif")
    assert await status(client, "alice", queued, "q@example.ru") == (-1, 0)
    assert await status(client, "alice", sms, "79161234567") == (-1, 0)
    await dispatcher.run_until_idle()
    [plain_mail] = [m for m in relay.received if m.rcpt_tos == ("p@example.ru",)]
    assert "/t/" not in plain_mail.parsed().get_content()  # a plain mail has no pixel
    assert await status(client, "alice", plain, "p@example.ru") == (1, 0)
