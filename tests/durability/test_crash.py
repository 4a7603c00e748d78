"""Nothing accepted is ever lost: SIGKILL the server in the middle of a load (issue 3).

Every send that got a success reply must be in the store with its own debit (the price of its one
part); none that got an error reply may be. Requests cut off by the kill (no reply) may have gone
either way, and there must be some: otherwise the kill did not land in the middle of the load.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from smsgate.config import DatabaseSettings, normalise_database_url
from smsgate.store.db import Database
from smsgate.store.schema import accounts, messages
from tests.support.gateway import cli, gateway_env, running_gateway

PASSWORD = "crash-test-1"
KILL_AFTER = 300  # successful sends before the kill
CONCURRENCY = 24
PRICE = Decimal("1.00")
BALANCE = Decimal("100000")


@pytest.mark.slow
async def test_sigkill_mid_load_loses_no_accepted_send(database_url: str, tmp_path: Path) -> None:
    env = gateway_env(database_url, tmp_path)
    cli(env, "account", "create", "load", "--password", PASSWORD, "--balance", str(BALANCE))
    cli(env, "tariff", "set", str(PRICE))
    with running_gateway(env) as (server, port):
        load = await _load_until_killed(server, port)
    accepted, refused = load.accepted, load.refused

    assert len(accepted) >= KILL_AFTER and refused, (len(accepted), len(refused))
    # The kill landed mid-load: sends were still waiting for their replies when it was sent, and
    # some of those never got one.
    assert load.in_flight_at_kill > 0, "no send was in flight when the server was killed"
    assert load.cut_off, "no request in flight was cut off by the kill"
    db = Database.open(DatabaseSettings(url=normalise_database_url(database_url)), pooled=False)
    try:
        async with db.read() as conn:
            stored = {
                row.client_id: row.cost
                for row in await conn.execute(
                    select(messages.c.client_id, messages.c.cost)
                    .join(accounts, accounts.c.id == messages.c.account_id)
                    .where(accounts.c.login == "load")
                )
            }
            balance = (
                await conn.execute(select(accounts.c.balance).where(accounts.c.login == "load"))
            ).scalar_one()
            count = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
    finally:
        await db.close()
    missing = [i for i in accepted if i not in stored]
    assert missing == [], f"{len(missing)} acknowledged sends were lost"
    assert [i for i in refused if i in stored] == []
    # Each message carries its own debit, the price of its one part: cut-off sends that were
    # committed included.
    mispriced = {i: cost for i, cost in stored.items() if cost != PRICE}
    assert mispriced == {}, f"{len(mispriced)} stored sends do not cost {PRICE}"
    assert set(stored) <= accepted | load.cut_off
    # Every stored message was paid for, and nothing else was taken.
    assert balance == BALANCE - sum(stored.values(), Decimal(0))
    assert count == len(stored)


@dataclass
class Load:
    """What the clients saw: replies of each kind, and the requests the kill cut off."""

    accepted: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    cut_off: set[str] = field(default_factory=set)  # sent before the kill, no reply
    in_flight: int = 0
    in_flight_at_kill: int = 0


async def _load_until_killed(server: subprocess.Popen[str], port: int) -> Load:
    load = Load()
    killed = asyncio.Event()
    counter = iter(range(1, 10**6))

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            n = next(counter)
            client_id = str(n)
            # Every 7th request has only an invalid number: error 7, nothing stored.
            phones = "12345" if n % 7 == 0 else f"7916{n:07d}"
            data = {
                "login": "load", "psw": PASSWORD, "phones": phones,
                "mes": f"crash test {n}", "id": client_id, "fmt": "3", "cost": "2",
            }  # fmt: skip
            sent_before_kill = not killed.is_set()
            load.in_flight += 1
            try:
                response = await client.post("/sys/send.php", data=data)
            except httpx.HTTPError:
                if not killed.is_set():
                    raise
                if sent_before_kill:
                    load.cut_off.add(client_id)
                return
            finally:
                load.in_flight -= 1
            body = response.json()
            if "error_code" in body:
                load.refused.add(client_id)
                continue
            # The reply states the debit of this one message: one part at the price.
            assert (body["id"], body["cnt"], Decimal(body["cost"])) == (n, 1, PRICE), body
            load.accepted.add(client_id)
            if len(load.accepted) >= KILL_AFTER and not killed.is_set():
                killed.set()
                load.in_flight_at_kill = load.in_flight
                server.send_signal(signal.SIGKILL)

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return load
