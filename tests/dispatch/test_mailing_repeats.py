"""fl[5] repeats of mailings through the simulator: failed recipients only, sender2/mes2, exactly
once under concurrent or killed steps, Viber falling back to SMS (http-api.md §5)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from smsgate.app import open_services
from smsgate.channels.simulator import SimulatorChannel
from smsgate.config import Settings
from smsgate.dispatch.mailing_repeats import MailingRepeater
from smsgate.dispatch.mailings import MailingScheduler
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.mailing_repeats import OpenMailing
from smsgate.store.repos.messages import NewMessage
from smsgate.store.schema import mailing_repeats, mailings, messages
from tests.support.clock import ManualClock

PASSWORD = "password-1"
# The simulator's default rules: *0 and *8 undeliverable (20), *9 silent (expires: 3).
PHONES = [f"791600000{n:02d}" for n in range(20)]
FAILED = {p for p in PHONES if p[-1] in "089"}
DAY = 86400.0


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("1000"))
    for name in ("Shop", "Shop2"):
        await services.senders.add(account, name, approve=True)
    return account


async def add(client: httpx.AsyncClient, **params: str) -> int:
    data = {"login": "alice", "psw": PASSWORD, "fmt": "3", "add": "1", "name": "sale"}
    body = (await client.post("/sys/jobs.php", data={**data, **params})).json()
    assert "id" in body, body
    return int(body["id"])


def repeater(services: Services, **kwargs: Any) -> MailingRepeater:
    return MailingRepeater(services.db, services.writer, services.sending, services.clock, **kwargs)


async def run_and_deliver(services: Services, clock: ManualClock) -> Dispatcher:
    """The mailing's run expanded and handed to the simulator until every message is final."""
    mailer = MailingScheduler(
        services.db,
        services.writer,
        services.sending,
        services.contacts,
        clock,
        node_id="node-a",
    )
    await mailer.run_until_idle()
    dispatcher = Dispatcher(services.writer, [SimulatorChannel(clock)], clock, seed=1)
    await deliver(dispatcher, clock)
    return dispatcher


async def deliver(dispatcher: Dispatcher, clock: ManualClock) -> None:
    await dispatcher.run_until_idle()
    await clock.advance(DAY + 7200)  # the silent ones' validity runs out: expired (3)
    await dispatcher.run_until_idle()


async def rows(services: Services) -> list[dict[str, Any]]:
    async with services.db.read() as conn:
        found = await conn.execute(
            select(
                messages.c.id,
                messages.c.phone,
                messages.c.client_id,
                messages.c.status,
                messages.c.sender,
                messages.c.text,
                messages.c.msg_type,
                messages.c.cost,
                messages.c.job_id,
            ).order_by(messages.c.id)
        )
        return [dict(r) for r in found.mappings()]


async def repeats(services: Services, first: int) -> list[dict[str, Any]]:
    """The messages stored after the run's (ids above ``first``)."""
    return [r for r in await rows(services) if r["id"] > first]


async def assert_failed_repeated_once_and_paid(services: Services, last: int) -> None:
    """Each failed recipient got exactly one repeat after message ``last``, and each was paid."""
    repeated = [r["phone"] for r in await repeats(services, last)]
    assert sorted(repeated) == sorted(FAILED)
    balance = (await services.accounts.get("alice")).balance
    assert balance == Decimal(1000 - len(PHONES) - len(FAILED))


async def test_failed_recipients_get_one_repeat_with_sender2_and_mes2(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    job_id = await add(
        client,
        phones=",".join(PHONES),
        mes="first try",
        sender="Shop",
        sender2="Shop2",
        mes2="second try",
        **{"fl[5]": "1"},
    )
    dispatcher = await run_and_deliver(services, clock)
    run = await rows(services)
    assert {r["phone"] for r in run if r["status"] in (3, 20)} == FAILED
    assert {r["status"] for r in run if r["phone"] not in FAILED} == {1}
    last = run[-1]["id"]

    assert await repeater(services).run_until_idle() == len(FAILED)
    repeated = await repeats(services, last)
    assert sorted(r["phone"] for r in repeated) == sorted(FAILED)
    for r in repeated:
        assert (r["sender"], r["text"], r["status"], r["cost"]) == ("Shop2", "second try", -1, 1)
        assert (r["client_id"], r["job_id"]) == (run[0]["client_id"], job_id)
    balance = (await services.accounts.get("alice")).balance
    assert balance == Decimal(1000 - len(PHONES) - len(FAILED))

    # The repeats fail again (same numbers): a repeat is never repeated.
    await deliver(dispatcher, clock)
    assert {r["status"] for r in await repeats(services, last)} <= {3, 20}
    assert await repeater(services).run_until_idle() == 0
    assert len(await rows(services)) == len(PHONES) + len(FAILED)
    async with services.db.read() as conn:  # nothing left to look at: the mailing is closed
        assert await conn.scalar(select(mailings.c.retry_open)) is False
        settled = await conn.scalar(select(mailing_repeats.c.message_id).limit(1))
    assert settled is not None


async def test_defaults_are_the_runs_sender_and_text(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(client, phones=",".join(PHONES[:10]), mes="same", sender="Shop", **{"fl[5]": "1"})
    await run_and_deliver(services, clock)
    last = (await rows(services))[-1]["id"]
    assert await repeater(services).run_until_idle() == 3
    repeated = await repeats(services, last)
    assert {(r["sender"], r["text"]) for r in repeated} == {("Shop", "same")}


async def test_list_lines_are_repeated_with_their_own_text(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    lines = "\n".join(f"{p}:hello {p[-2:]}" for p in PHONES[:10])
    await add(client, list=lines, **{"fl[5]": "1"})
    await run_and_deliver(services, clock)
    last = (await rows(services))[-1]["id"]
    assert await repeater(services).run_until_idle() == 3
    repeated = await repeats(services, last)
    assert {r["phone"]: r["text"] for r in repeated} == {
        p: f"hello {p[-2:]}" for p in PHONES[:10] if p in FAILED
    }


async def test_without_fl5_nobody_is_repeated(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(client, phones=",".join(PHONES), mes="hi", sender2="Shop2", mes2="again")
    await run_and_deliver(services, clock)
    assert await repeater(services).run_until_idle() == 0
    assert len(await rows(services)) == len(PHONES)


async def test_viber_falls_back_to_sms_with_mes2(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(
        client,
        phones=",".join(PHONES),
        mes="viber text",
        viber="1",
        mes2="sms text",
        **{"fl[5]": "1"},
    )
    await run_and_deliver(services, clock)
    run = await rows(services)
    assert {r["msg_type"] for r in run} == {10}
    assert await repeater(services).run_until_idle() == len(FAILED)
    repeated = await repeats(services, run[-1]["id"])
    assert {(r["msg_type"], r["text"]) for r in repeated} == {(0, "sms text")}


async def test_two_steps_at_once_repeat_each_recipient_once(
    services: Services,
    client: httpx.AsyncClient,
    clock: ManualClock,
    alice: AccountRecord,
    settings: Settings,
) -> None:
    await add(client, phones=",".join(PHONES), mes="hi", **{"fl[5]": "1"})
    await run_and_deliver(services, clock)
    last = (await rows(services))[-1]["id"]
    async with open_services(settings, clock) as node_b:  # a second node, its own writer
        first, second = repeater(services, batch_size=2), repeater(node_b, batch_size=2)
        await asyncio.gather(first.run_until_idle(), second.run_until_idle(), first.step())
    await assert_failed_repeated_once_and_paid(services, last)


class _Killed(MailingRepeater):
    """A repeat step killed before its second batch is stored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.left = 1

    async def _store(
        self,
        mailing: OpenMailing,
        originals: list[int],
        rows: list[tuple[int, NewMessage]],
        account: AccountRecord,
    ) -> int:
        if self.left == 0:
            raise asyncio.CancelledError
        self.left -= 1
        stored: int = await super()._store(mailing, originals, rows, account)
        return stored


async def test_a_killed_step_is_finished_by_the_next_without_duplicates(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(client, phones=",".join(PHONES), mes="hi", **{"fl[5]": "1"})
    await run_and_deliver(services, clock)
    last = (await rows(services))[-1]["id"]
    killed = _Killed(services.db, services.writer, services.sending, clock, batch_size=2)
    with pytest.raises(asyncio.CancelledError):
        await killed.run_until_idle()
    assert len(await repeats(services, last)) == 2
    assert await repeater(services).run_until_idle() == len(FAILED) - 2
    assert await repeater(services).run_until_idle() == 0
    await assert_failed_repeated_once_and_paid(services, last)


class _Late(MailingRepeater):
    """A repeat step that prepared its batch and waits before storing it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reached, self.gate = asyncio.Event(), asyncio.Event()
        self.stored: list[int] = []

    async def _store(
        self,
        mailing: OpenMailing,
        originals: list[int],
        rows: list[tuple[int, NewMessage]],
        account: AccountRecord,
    ) -> int:
        self.reached.set()
        await self.gate.wait()
        self.stored.append(await super()._store(mailing, originals, rows, account))
        return self.stored[-1]


async def test_a_step_overtaken_by_another_stores_nothing(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(client, phones=",".join(PHONES), mes="hi", **{"fl[5]": "1"})
    await run_and_deliver(services, clock)
    count = len(await rows(services))
    late = _Late(services.db, services.writer, services.sending, clock)
    task = asyncio.create_task(late.step())
    await asyncio.wait_for(late.reached.wait(), 5)
    assert await repeater(services).run_until_idle() == len(FAILED)
    late.gate.set()
    await task
    assert late.stored == [0]
    assert len(await rows(services)) == count + len(FAILED)
    balance = (await services.accounts.get("alice")).balance
    assert balance == Decimal(1000 - len(PHONES) - len(FAILED))
