"""The mailing scheduler: runs expanded in batches under a lease, funds, takeover after a crash,
cancel and resume through the simulator, repeats (http-api.md §5)."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from smsgate.channels.simulator import SimulatorChannel
from smsgate.dispatch.mailings import MailingScheduler
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.contacts import BlacklistKind, GroupKind
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.messages import NewMessage
from smsgate.store.schema import messages
from tests.support.clock import ManualClock

PASSWORD = "password-1"
COUNT = 2500


def numbers(count: int, start: int = 0) -> str:
    return ",".join(f"7916{n:07d}" for n in range(start, start + count))


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    return await services.accounts.create("alice", PASSWORD, balance=Decimal("100000"))


def scheduler(services: Services, node: str = "node-a", **kwargs: Any) -> MailingScheduler:
    return MailingScheduler(
        services.db,
        services.writer,
        services.sending,
        services.contacts,
        services.clock,
        node_id=node,
        batch_size=kwargs.pop("batch_size", 1000),
        **kwargs,
    )


async def jobs(client: httpx.AsyncClient, **params: str) -> Any:
    data = {"login": "alice", "psw": PASSWORD, "fmt": "3", **params}
    return (await client.post("/sys/jobs.php", data=data)).json()


async def add(client: httpx.AsyncClient, **params: str) -> int:
    body = await jobs(client, add="1", **{"name": "sale", "mes": "hi", **params})
    assert "id" in body, body
    return int(body["id"])


async def get(client: httpx.AsyncClient, clock: ManualClock, job_id: int) -> dict[str, Any]:
    await clock.advance(61)  # identical get requests are allowed once a minute
    record: dict[str, Any] = (await jobs(client, get="1", id=str(job_id)))[0]
    return record


async def stored(services: Services) -> list[tuple[str, str, int, Decimal]]:
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(messages.c.phone, messages.c.client_id, messages.c.status, messages.c.cost)
        )
        return [(str(p), str(c), int(s), Decimal(x)) for p, c, s, x in rows]


async def by_status(services: Services) -> dict[int, int]:
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(messages.c.status, func.count()).group_by(messages.c.status)
        )
        return {int(s): int(n) for s, n in rows}


async def test_a_run_is_one_request_expanded_in_batches(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    job_id = await add(client, phones=numbers(COUNT) + ",79160000001,bad")
    assert await scheduler(services).run_until_idle() == 1
    rows = await stored(services)
    assert len(rows) == COUNT + 1  # the duplicate is sent once, the bad number stored as 22
    assert len({client_id for _, client_id, _, _ in rows}) == 1
    assert Counter(status for _, _, status, _ in rows) == {-1: COUNT, 22: 1}
    assert (await services.accounts.get("alice")).balance == Decimal(100000 - COUNT)
    record = await get(client, clock, job_id)
    assert (record["status"], record["cnt"], record["cost"]) == (2, COUNT + 2, f"{COUNT}.00")
    assert str(record["last_id"]) == rows[0][1]
    assert record["time"] == ""


async def test_groups_and_the_blacklist_at_run_time(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    group = await services.contacts.add_group(alice.id, "clients", 5, GroupKind.PHONES)
    for phone in ("79161111111", "79162222222"):
        await services.contacts.add(alice.id, {"phone": phone}, [group])
    await add(client, phones="G5,79163333333")
    await services.blacklist.add(alice.id, ["79162222222"], BlacklistKind.MASS)
    await services.contacts.add(alice.id, {"phone": "79164444444"}, [group])  # joins before the run
    await scheduler(services).run_until_idle()
    statuses = {phone: status for phone, _, status, _ in await stored(services)}
    assert statuses == {"79161111111": -1, "79162222222": 23, "79163333333": -1, "79164444444": -1}


async def test_insufficient_funds_at_run_time(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    await services.accounts.create("alice", PASSWORD, balance=Decimal("1500"))
    await add(client, phones=numbers(COUNT))
    await scheduler(services).run_until_idle()
    assert await by_status(services) == {-1: 1000, 24: 1500}
    assert (await services.accounts.get("alice")).balance == Decimal(500)


class _Crashing(MailingScheduler):
    """A runner killed after storing ``after`` batches."""

    def __init__(self, *args: Any, after: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.left = after

    async def _store(self, job: Any, rows: list[NewMessage], *args: Any, **kwargs: Any) -> bool:
        if self.left == 0:
            raise asyncio.CancelledError  # the runner's task is killed mid-run
        self.left -= 1
        return await super()._store(job, rows, *args, **kwargs)


async def test_a_killed_expander_is_taken_over_without_duplicates(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(client, phones=numbers(COUNT))
    crashing = _Crashing(
        services.db,
        services.writer,
        services.sending,
        services.contacts,
        clock,
        node_id="node-a",
        batch_size=1000,
        after=1,
    )
    [job] = await crashing.claim(1)
    with pytest.raises(asyncio.CancelledError):
        await crashing.execute(job)
    other = scheduler(services, "node-b")
    assert await other.claim(1) == []  # the lease still holds
    await clock.advance(61)
    assert await other.run_until_idle() == 1
    phones = [phone for phone, _, _, _ in await stored(services)]
    assert len(phones) == len(set(phones)) == COUNT
    assert (await services.accounts.get("alice")).balance == Decimal(100000 - COUNT)
    # The dead runner's claim is stale: it stores nothing more.
    crashing.left = 5
    await crashing.execute(job)
    assert len(await stored(services)) == COUNT


async def test_cancel_mid_way_then_resume_through_the_simulator(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    job_id = await add(client, phones=numbers(COUNT))
    mailer = scheduler(services)
    await mailer.run_until_idle()
    simulator = SimulatorChannel(clock)
    dispatcher = Dispatcher(services.writer, [simulator], clock, batch_size=500, seed=1)
    await dispatcher.step()
    assert len(simulator.submitted) == 500
    assert await jobs(client, cancel="1", id=str(job_id)) == {"result": "OK"}
    assert (await by_status(services)).get(-2) == COUNT - 500
    assert (await services.accounts.get("alice")).balance == Decimal(100000 - 500)
    await dispatcher.run_until_idle()
    assert len(simulator.submitted) == 500
    assert await mailer.run_until_idle() == 0  # a cancelled job is not run
    assert await jobs(client, resume="1", id=str(job_id)) == {"result": "OK"}
    assert await mailer.run_until_idle() == 1
    assert (await by_status(services)).get(-2) is None
    assert (await services.accounts.get("alice")).balance == Decimal(100000 - COUNT)
    await dispatcher.run_until_idle()
    assert len(simulator.submitted) == len(set(simulator.submitted)) == COUNT
    assert (await get(client, clock, job_id))["status"] == 2


class _CancelledAfterOneBatch(MailingScheduler):
    def __init__(self, *args: Any, client: httpx.AsyncClient, job_id: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.client, self.job_id, self.batches = client, job_id, 0

    async def _store(self, job: Any, rows: list[NewMessage], *args: Any, **kwargs: Any) -> bool:
        if self.batches == 1:
            await jobs(self.client, cancel="1", id=str(self.job_id))
        self.batches += 1
        return await super()._store(job, rows, *args, **kwargs)


async def test_cancel_during_expansion_then_resume_finishes_the_run(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    job_id = await add(client, phones=numbers(COUNT))
    mailer = _CancelledAfterOneBatch(
        services.db,
        services.writer,
        services.sending,
        services.contacts,
        clock,
        node_id="node-a",
        batch_size=1000,
        client=client,
        job_id=job_id,
    )
    await mailer.run_until_idle()
    assert await by_status(services) == {-2: 1000}  # the rest was never expanded
    assert (await services.accounts.get("alice")).balance == Decimal(100000)
    await jobs(client, resume="1", id=str(job_id))
    await scheduler(services).run_until_idle()
    rows = await stored(services)
    assert len(rows) == len({phone for phone, _, _, _ in rows}) == COUNT
    assert await by_status(services) == {-1: COUNT}
    assert (await services.accounts.get("alice")).balance == Decimal(100000 - COUNT)


async def test_repeats_schedule_the_next_run(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    job_id = await add(client, phones=numbers(3), rpt="2", rptn="2")
    mailer = scheduler(services)
    await mailer.run_until_idle()
    first = await get(client, clock, job_id)
    assert (first["status"], first["time"]) == (0, "25.11.2025 19:00:00")
    assert await mailer.run_until_idle() == 0
    await clock.advance(86400)
    assert await mailer.run_until_idle() == 1
    second = await get(client, clock, job_id)
    assert (second["status"], second["time"]) == (2, "")
    assert second["last_id"] != first["last_id"]
    ids = Counter(client_id for _, client_id, _, _ in await stored(services))
    assert sorted(ids.values()) == [3, 3]
