"""Benchmark: callbacks delivered per second to a local handler (issue 8).

For each back end on a fresh database the script stores N messages for an account whose callback
URL points at a handler on 127.0.0.1 (a minimal asyncio HTTP/1.1 server in a process of its own,
answering 200 and counting distinct ``X-Smsgate-Delivery`` ids), dispatches them through the built-in
simulator (two status changes each: transferred, delivered), then starts the callback sender and
times it from start until every delivery is recorded as delivered. Next to it, the ceiling: the same
number of POSTs by bare httpx clients (no store) at the same concurrency.

Target (issue 8, 2-core machine): ≥ 2,000 callbacks/s.

    .venv/bin/python bench/callbacks.py                        # SQLite, 10,000 messages
    .venv/bin/python bench/callbacks.py --backend both --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
import typing
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import func, select

from harness import database, describe_machine, spawn, stop_process
from smsgate.app import migrate_database, open_services
from smsgate.channels.simulator import SimulatorChannel
from smsgate.channels.webhook import WebhookPoster, build_clients
from smsgate.clock import SystemClock
from smsgate.config import Settings, load_settings
from smsgate.dispatch.callbacks import CallbackSender
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.callbacks import DeliveryState
from smsgate.domain.pricing import TariffRule
from smsgate.domain.sending import SendRequest
from smsgate.services.accounts import AccountChanges
from smsgate.services.sending import SendOptions
from smsgate.store.repos import callbacks as repo
from smsgate.store.schema import events

TARGET = 2000
BATCH = 1000


# --- the handler, run with --serve in its own process ---------------------------------------------


class _Handler(asyncio.Protocol):
    seen: set[bytes] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line.startswith(b"x-smsgate-delivery:"):
                    _Handler.seen.add(line.split(b":")[1].strip())
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Handler, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    # The parent asks for the count by writing a line to stdin, and stops us with SIGTERM.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.readline():
        print(len(_Handler.seen), flush=True)


# --- the benchmark ------------------------------------------------------------------------------


def settings_for(url: str, workdir: Path) -> Settings:
    environ = {
        "SMSGATE_DATABASE_URL": url,
        "SMSGATE_DATA_DIR": str(workdir),
        "SMSGATE_CALLBACKS_ALLOW_PRIVATE_NETWORKS": "1",
        # One handler receives everything here: let it have the whole capacity.
        "SMSGATE_CALLBACKS_PER_URL_CONCURRENCY": "256",
    }
    return load_settings(None, environ, cwd=workdir)


async def measure(settings: Settings, count: int, url: str) -> tuple[float, int]:
    """(callbacks per second, callbacks delivered): one per status change."""
    await migrate_database(settings)
    clock = SystemClock()
    async with open_services(settings, clock) as services:
        await services.tariffs.set(TariffRule(price=Decimal("0.01")))
        account = await services.accounts.create("bench", "bench-password", balance=Decimal(10**9))
        account = await services.accounts.change(
            "bench", AccountChanges(callback_url=url + "?fmt=3&md5=1", callback_secret="s")
        )
        phones = ",".join(f"7916{n:07d}" for n in range(1, BATCH + 1))
        for request in range(count // BATCH):
            await services.sending.send(
                account, SendRequest(phones=phones, mes=f"bench {request}"), SendOptions()
            )
        await Dispatcher(services.writer, [SimulatorChannel(clock)], clock).run_until_idle()
        async with services.db.read() as conn:  # numbers ending in 9 never get a receipt
            changes = int(
                (await conn.execute(select(func.count()).select_from(events))).scalar_one()
            )
        config = settings.callbacks
        async with build_clients(config) as clients:
            sender = CallbackSender(services.writer, WebhookPoster(clients, "bench"), clock, config)
            started = time.perf_counter()
            running = asyncio.create_task(sender.run())
            try:
                while True:  # polling is fine in a benchmark: 20 ms resolution
                    await asyncio.sleep(0.02)
                    async with services.db.read() as conn:
                        states = await repo.count_by_state(conn)
                    if states.get(DeliveryState.DELIVERED, 0) >= changes:
                        break
                elapsed = time.perf_counter() - started
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                await sender.close()
    return changes / elapsed, changes


async def ceiling(url: str, count: int, concurrency: int) -> float:
    """POSTs per second by bare httpx clients, one per worker, as the sender uses them."""
    clients = [httpx.AsyncClient() for _ in range(concurrency)]
    per = count // concurrency

    async def work(client: httpx.AsyncClient, worker: int) -> None:
        for n in range(per):
            headers = {"X-Smsgate-Delivery": f"ceiling-{worker}-{n}"}
            await client.post(url, content=b"a=b", headers=headers)

    started = time.perf_counter()
    await asyncio.gather(*(work(c, i) for i, c in enumerate(clients)))
    rate = per * concurrency / (time.perf_counter() - started)
    for client in clients:
        await client.aclose()
    return rate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--messages", type=int, default=10000, help="multiple of 1,000")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        uvloop.run(serve())
        return 0
    handler = spawn(
        [sys.executable, __file__, "--serve"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        stdin=-1,
        stdout=-1,
        text=True,
    )
    try:
        assert handler.stdout is not None and handler.stdin is not None
        url = f"http://127.0.0.1:{int(handler.stdout.readline())}/hook"
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        machine = describe_machine()
        print(f"machine: {machine.describe()}; {args.messages:,} messages")
        print("| back end | scenario | callbacks/s | target |")
        print("|---|---|---|---|")
        settings = settings_for("sqlite:///unused", Path(tempfile.gettempdir()))
        bare = uvloop.run(ceiling(url, 2 * args.messages, settings.callbacks.concurrency))
        print(f"| — | bare httpx POSTs, no store (ceiling) | {bare:,.0f} | |")
        for backend in backends:
            with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as db_url:
                rate, sent = uvloop.run(
                    measure(settings_for(db_url, Path(tmp)), args.messages, url)
                )
            verdict = "met" if rate >= TARGET else "MISSED"
            print(f"| {backend} | callbacks delivered | {sent:,} | |")
            print(f"| {backend} | sender → handler, delivered and recorded | {rate:,.0f} | "
                  f"≥ {TARGET:,}: {verdict} |")  # fmt: skip
        handler.stdin.write("count\n")
        handler.stdin.flush()
        seen = int(handler.stdout.readline())
        print(
            f"the handler saw {seen:,} distinct delivery ids (ids restart on each fresh database)"
        )
    finally:
        stop_process(handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
