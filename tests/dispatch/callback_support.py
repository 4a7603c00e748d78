"""Shared pieces of the callback tests: a receiver, a sender, accounts with handlers, messages."""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

from sqlalchemy import select

from smsgate.channels.simulator import SimulatorChannel
from smsgate.channels.webhook import WebhookPoster, build_clients
from smsgate.config import CallbacksSettings
from smsgate.dispatch.callbacks import CallbackSender
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.domain.sending import SendRequest
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.services.sending import SendOptions
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import events, messages
from tests.support.clock import ManualClock

SECRET = "s3cret-of-the-handler"
PASSWORD = "password-1"


@contextlib.asynccontextmanager
async def callback_sender(
    services: Services, clock: ManualClock, settings: CallbacksSettings | None = None
) -> AsyncIterator[CallbackSender]:
    config = settings or services.settings.callbacks
    async with build_clients(config) as client:
        sender = CallbackSender(
            services.writer, WebhookPoster(client, "smsgate/test"), clock, config
        )
        try:
            yield sender
        finally:
            await sender.close()


async def account_with_handler(services: Services, login: str, url: str) -> AccountRecord:
    await services.accounts.create(login, PASSWORD, balance=Decimal("100000"))
    await services.tariffs.set(TariffRule(price=Decimal("1.5")))
    return await services.accounts.change(
        login, AccountChanges(callback_url=url, callback_secret=SECRET)
    )


def phones(count: int, start: int = 1) -> list[str]:
    """Numbers the simulator delivers (none ends in 0, 8 or 9)."""
    found: list[str] = []
    n = start
    while len(found) < count:
        if n % 10 not in (0, 8, 9):
            found.append(f"7916{n:07d}")
        n += 1
    return found


async def send_and_dispatch(
    services: Services, clock: ManualClock, account: AccountRecord, numbers: Sequence[str]
) -> None:
    """Accept a message to each number and dispatch until each is delivered (two events each)."""
    for i in range(0, len(numbers), 1000):
        await services.sending.send(
            account, SendRequest(phones=",".join(numbers[i : i + 1000]), mes="hi"), SendOptions()
        )
    await Dispatcher(services.writer, [SimulatorChannel(clock)], clock, seed=1).run_until_idle()


async def expected_changes(services: Services, account_id: int) -> list[tuple[str, str]]:
    """(phone, status) of every event of the account, in event order."""
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(messages.c.phone, events.c.status)
            .join(messages, messages.c.id == events.c.message_id)
            .where(events.c.account_id == account_id)
            .order_by(events.c.id)
        )
        return [(str(phone), str(status)) for phone, status in rows]


def expected_signature(algorithm: str, fields: Sequence[tuple[str, str]], charset: str) -> str:
    """Independent computation of http-api.md §14's signature."""
    data = (":".join(v for _, v in fields) + ":" + SECRET).encode(charset, "replace")
    if algorithm == "crc32":
        return str(zlib.crc32(data) & 0xFFFFFFFF)
    return hashlib.new(algorithm, data).hexdigest()
