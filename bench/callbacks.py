"""Benchmark: callbacks delivered per second to a local handler (issue 8).

For each back end on a fresh database the script stores N messages for an account whose callback
URL points at a handler on 127.0.0.1 (a minimal asyncio HTTP/1.1 server on uvloop in a process of its
own, answering 200 and counting distinct ``X-Smsgate-Delivery`` ids), dispatches them through the
built-in simulator (two status changes each: transferred, delivered), then starts the callback sender
and times it from start until every delivery is recorded as delivered.

Next to it, the ceilings, each measured right before the sender at the same concurrency: the
receiver's own, driven by raw keep-alive POSTs (pre-built bytes on ``asyncio.Protocol`` connections,
no HTTP library, no store), and smsgate's HTTP client alone (``KeepAliveClient``, no store). The
``÷ receiver`` column is each rate over the receiver's ceiling; the sender's process CPU per callback
(its database thread included) and the CPU the rest of the machine used during the run (other
users' jobs on a shared machine) are printed too.

Target (issue 8, 2-core machine): ≥ 2,000 callbacks/s.

    .venv/bin/python bench/callbacks.py                        # SQLite, 10,000 messages
    .venv/bin/python bench/callbacks.py --backend both --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import typing
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import uvloop
from sqlalchemy import func, select

from harness import CpuMeter, database, describe_machine, spawn, stop_process
from smsgate.app import migrate_database, open_services
from smsgate.channels.simulator import SimulatorChannel
from smsgate.channels.webhook import PostResult, WebhookPoster, build_clients
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
POLL_S = 0.05


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


async def measure(settings: Settings, count: int, url: str) -> tuple[float, int, float, float]:
    """(callbacks per second, callbacks delivered (one per status change), sender CPU µs per
    callback, cores used by the rest of the machine meanwhile)."""
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
            meter = CpuMeter(os.getpid())
            started = time.perf_counter()
            running = asyncio.create_task(sender.run())
            try:
                while True:  # polling is fine in a benchmark: 50 ms resolution
                    await asyncio.sleep(POLL_S)
                    async with services.db.read() as conn:
                        states = await repo.count_by_state(conn)
                    if states.get(DeliveryState.DELIVERED, 0) >= changes:
                        break
                elapsed = time.perf_counter() - started
                usage = meter.stop(0.0)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                await sender.close()
    return changes / elapsed, changes, usage.server * elapsed / changes * 1e6, usage.other


class _RawPoster(asyncio.Protocol):
    """One keep-alive connection POSTing pre-built requests, one at a time, until told to stop."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def __init__(self, requests: list[bytes], done: asyncio.Future[None]) -> None:
        self.requests = requests
        self.done = done
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)
        self.transport.write(self.requests.pop())

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.received < len(self.ANSWER):
            return
        self.received -= len(self.ANSWER)
        if self.requests:
            self.transport.write(self.requests.pop())
        else:
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)


async def receiver_ceiling(port: int, count: int, concurrency: int) -> float:
    """POSTs per second the receiver answers: raw keep-alive connections, no HTTP library."""
    loop = asyncio.get_running_loop()
    per = count // concurrency
    body = b'{"a":"b"}'
    futures = []
    for worker in range(concurrency):
        requests = [
            b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"X-Smsgate-Delivery: raw-%d-%d\r\nContent-Length: %d\r\n\r\n%s"
            % (worker, n, len(body), body)
            for n in range(per)
        ]
        done: asyncio.Future[None] = loop.create_future()
        futures.append((requests, done))
    started = time.perf_counter()
    for requests, done in futures:
        await loop.create_connection(
            lambda r=requests, d=done: _RawPoster(r, d),  # type: ignore[misc]
            "127.0.0.1",
            port,
        )
    await asyncio.gather(*(done for _, done in futures))
    return per * concurrency / (time.perf_counter() - started)


async def client_ceiling(url: str, count: int, settings: Settings) -> float:
    """POSTs per second by smsgate's HTTP client alone (no store), as the sender uses it."""
    config = settings.callbacks
    per = count // config.concurrency
    async with build_clients(config) as client:
        poster = WebhookPoster(client, "bench")

        async def work(worker: int) -> None:
            for n in range(per):
                result: PostResult = await poster.post(
                    url, b'{"a":"b"}', "application/json", f"client-{worker}-{n}"
                )
                assert result.ok, result

        started = time.perf_counter()
        await asyncio.gather(*(work(i) for i in range(config.concurrency)))
        return per * config.concurrency / (time.perf_counter() - started)


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
        port = int(handler.stdout.readline())
        url = f"http://127.0.0.1:{port}/hook"
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        machine = describe_machine()
        load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"machine: {machine.describe()}; load average {load}; {args.messages:,} messages")
        print("| back end | scenario | callbacks/s | ÷ receiver | CPU µs/callback | target |")
        print("|---|---|---|---|---|---|")
        settings = settings_for("sqlite:///unused", Path(tempfile.gettempdir()))
        concurrency = settings.callbacks.concurrency
        for backend in backends:
            raw = uvloop.run(receiver_ceiling(port, 2 * args.messages, concurrency))
            print(f"| — | receiver ceiling: raw keep-alive POSTs | {raw:,.0f} | 1.00 | | |")
            client = uvloop.run(client_ceiling(url, 2 * args.messages, settings))
            print(f"| — | smsgate HTTP client alone, no store | {client:,.0f} | "
                  f"{client / raw:.2f} | | |")  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as db_url:
                rate, sent, cpu_us, others = uvloop.run(
                    measure(settings_for(db_url, Path(tmp)), args.messages, url)
                )
            verdict = "met" if rate >= TARGET else "MISSED"
            print(f"| {backend} | sender → receiver, delivered and recorded ({sent:,}) | "
                  f"{rate:,.0f} | {rate / raw:.2f} | {cpu_us:,.0f} | ≥ {TARGET:,}: {verdict} |")  # fmt: skip
            print(f"(other processes used {others:.2f} cores during the {backend} run)")
        load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"load average afterwards {load}")
        handler.stdin.write("count\n")
        handler.stdin.flush()
        seen = int(handler.stdout.readline())
        print(
            f"the receiver saw {seen:,} distinct delivery ids (ids restart on each fresh database)"
        )
    finally:
        stop_process(handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
