"""Benchmark: dispatch, from stored to final status, through the built-in simulator (issue 4).

For each back end (SQLite, PostgreSQL) on a fresh database, the script stores N messages (accepted
through the sending service in 1,000-recipient requests, as an HTTP client would have them stored),
then measures in the same process:

1. the raw store rate: leased claims of 1,000 messages and a final status for each, with no channel
   (the ceiling the dispatcher is compared against);
2. end to end: the dispatcher claiming, handing over to the simulator (zero latency) and applying
   every receipt until each message has its final status.

It then queues one account's 100,000-message campaign, starts the dispatcher on it, and times another
account's single send from acceptance to its hand-over.

Targets (issue 4, 2-core machine): ≥ 5,000 msg/s end to end on SQLite; the single send reaches the
simulator within one second.

    .venv/bin/python bench/dispatch.py                     # both back ends, 20,000 messages each
    .venv/bin/python bench/dispatch.py --backend sqlite --messages 50000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from harness import database, describe_machine
from smsgate.app import migrate_database, open_services
from smsgate.channels.simulator import SimulatorChannel
from smsgate.clock import SystemClock
from smsgate.config import Settings, load_settings
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.domain.sending import SendRequest
from smsgate.services.container import Services
from smsgate.services.sending import SendOptions
from smsgate.store.repos import dispatch as repo
from smsgate.store.repos.dispatch import StatusChange

BATCH = 1000
TARGET_SQLITE = 5000


def settings_for(url: str, workdir: Path) -> Settings:
    return load_settings(
        None, {"SMSGATE_DATABASE_URL": url, "SMSGATE_DATA_DIR": str(workdir)}, cwd=workdir
    )


async def store_messages(services: Services, login: str, count: int) -> None:
    account = await services.accounts.create(login, "bench-password", balance=Decimal(10**9))
    phones = ",".join(f"7916{n:07d}" for n in range(1, BATCH + 1))
    for request in range(count // BATCH):
        await services.sending.send(
            account, SendRequest(phones=phones, mes=f"dispatch bench {request}"), SendOptions()
        )


async def raw_rate(services: Services, clock: SystemClock) -> int:
    """Claim every due message and give it a final status directly; how many were done."""
    done = 0

    async def op(conn: AsyncConnection) -> int:
        now = clock.now()
        claimed = await repo.claim(conn, now, BATCH, now + 60)
        changes = [StatusChange(m.id, m.account_id, 1, 0) for m in claimed]
        await repo.record_final(conn, changes, now)
        return len(claimed)

    while True:
        count = await services.writer.submit(op)
        if not count:
            return done
        done += count


def run_backend(backend: str, count: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        return asyncio.run(measure(backend, settings_for(url, Path(tmp)), count))


async def measure(backend: str, settings: Settings, count: int) -> list[tuple[str, float]]:
    await migrate_database(settings)
    clock = SystemClock()
    async with open_services(settings, clock) as services:
        await services.tariffs.set(TariffRule(price=Decimal("0.01")))
        await store_messages(services, "raw", count)
        started = time.perf_counter()
        raw = await raw_rate(services, clock)
        raw_rate_s = raw / (time.perf_counter() - started)
        await store_messages(services, "e2e", count)
        simulator = SimulatorChannel(clock)
        dispatcher = Dispatcher(services.writer, [simulator], clock, batch_size=BATCH)
        started = time.perf_counter()
        await dispatcher.run_until_idle()
        e2e_rate_s = len(simulator.submitted) / (time.perf_counter() - started)
        handed = list(simulator.submitted)
        overtake_ms = await single_behind_campaign(services, clock, campaign=100_000)
    if len(handed) != count or len(set(handed)) != count:
        raise SystemExit(f"{backend}: {len(handed)} hand-overs for {count} messages")
    return [
        ("raw claim + final status", raw_rate_s),
        ("end to end via simulator", e2e_rate_s),
        ("single send behind a 100,000-message campaign: ms to the simulator", overtake_ms),
    ]


async def single_behind_campaign(services: Services, clock: SystemClock, campaign: int) -> float:
    """Milliseconds from accepting one account's single send to its hand-over, while another
    account's campaign of ``campaign`` messages is queued ahead of it and being dispatched."""
    await store_messages(services, "campaign", campaign)
    simulator = SimulatorChannel(clock)
    dispatcher = Dispatcher(services.writer, [simulator], clock)
    running = asyncio.create_task(dispatcher.run())
    try:
        # Polling is fine in a benchmark: the simulator signals nothing, and 1 ms is the resolution.
        while len(simulator.submitted) < 1000:  # noqa: ASYNC110 - the campaign is under way
            await asyncio.sleep(0.001)
        account = await services.accounts.create("single", "bench-password", balance=Decimal(10))
        started = time.perf_counter()
        result = await services.sending.send(
            account, SendRequest(phones="79261234567", mes="code 1234"), SendOptions()
        )
        (message_id,) = result.message_ids
        while message_id not in simulator.submitted:  # noqa: ASYNC110 - see above
            await asyncio.sleep(0.001)
        return (time.perf_counter() - started) * 1000
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--messages", type=int, default=20000, help="multiple of 1,000")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    machine = describe_machine()
    print(f"machine: {machine.describe()}; {args.messages:,} messages per scenario")
    print("| back end | scenario | msg/s | ÷ raw | target |")
    print("|---|---|---|---|---|")
    for backend in backends:
        rows = run_backend(backend, args.messages)
        raw = rows[0][1]
        for name, rate in rows:
            target = ""
            if backend == "sqlite" and name.startswith("end"):
                verdict = "met" if rate >= TARGET_SQLITE else "MISSED"
                target = f"≥ {TARGET_SQLITE:,} msg/s: {verdict}"
            if name.startswith("single"):
                verdict = "met" if rate <= 1000 else "MISSED"
                print(f"| {backend} | {name} | {rate:,.0f} ms | | ≤ 1,000 ms: {verdict} |")
                continue
            print(f"| {backend} | {name} | {rate:,.0f} | {rate / raw:.2f} | {target} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
