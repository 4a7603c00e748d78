"""Benchmark: SMPP end to end (issue 5). One script, one scenario per direction:

``egress``  msg/s from an upstream connector (``SmppConnector``, one transceiver bind) to the SMSC
            simulator (``smsgate simulator smpp`` in a process of its own) for each simulated RTT,
            next to the theoretical ceiling window ÷ RTT (field-notes.md: a bind's rate is about
            window ÷ round-trip time). The RTT is the simulator's latency before each submit_sm_resp.
            Receipts are off unless ``--receipts``, so the submit path is what is measured.
            The connector is fed as the dispatcher feeds it: batches handed to ``submit``, at most
            ``connector_limits(...).window`` (window × HANDOVER_WINDOWS) messages handed over at once,
            two hand-overs side by side so that one's last answers overlap the next one's sends.

            Each row also gives the CPU time per message of each process (user + system). The
            simulator runs on a core of its own and the connector on the others, as an SMSC on
            another machine would (``apart()``; ``--no-pin`` leaves both to the scheduler).

``simulator`` the simulator alone, driven by a no-op ESME (``smpp_noop.py``: pre-encoded submit_sm,
            window 10, next to no Python per message): its ceiling at each RTT, and the latency it
            really adds (median and 99th percentile of submit → response, less the RTT).

``intake``  submit_sm/s from one bind (window 100) into the SMPP server of ``smsgate run`` on a fresh
            SQLite and PostgreSQL database, each answered only after it is stored, beside the SMSC
            simulator answering the same client without storing (the ceiling of the session layer).

    .venv/bin/python bench/smpp.py                          # egress, window 10, RTT 1 ms and 20 ms
    .venv/bin/python bench/smpp.py egress --rtt-ms 1 5 20 --window 10 --seconds 5
    .venv/bin/python bench/smpp.py simulator                # no-op ESME, RTT 1 ms and 20 ms
    .venv/bin/python bench/smpp.py intake                   # one bind, window 100, 20,000 messages
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvloop

from harness import REPO, Server, database, describe_machine, server_env, spawn, stop_process
from smpp_noop import run_noop
from smsgate import heap
from smsgate.channels.base import Accepted, OutgoingMessage, Receipt
from smsgate.channels.smpp.connector import SmppConnector
from smsgate.channels.smpp.settings import BindSettings, ConnectorSettings
from smsgate.clock import SystemClock
from smsgate.dispatch.upstream import bind_pacers, connector_limits
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.pdu import BindTransceiver, SubmitSm
from smsgate.protocols.smpp.session import SessionSettings, open_session


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    rate: float
    ceiling: float
    detail: str = ""

    def line(self) -> str:
        share = self.rate / self.ceiling if self.ceiling else 0.0
        return (
            f"  {self.label:28} {self.rate:10,.0f} msg/s   ceiling {self.ceiling:10,.0f}   "
            f"{share:6.1%}   {self.detail}"
        ).rstrip()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


Scenario = Callable[[argparse.Namespace], Awaitable[list[Row]]]


@contextmanager
def apart(proc: subprocess.Popen[str], pin: bool) -> Iterator[None]:
    """The simulator on a core of its own and this process on the others, for the block.

    The simulator stands for an operator's SMSC on another machine. Sharing two cores unpinned, the
    scheduler now and then woke the idle simulator on the core where the connector was busy
    setting a hand-over going, and it waited there about 1.2 ms (a probe of both processes saw the
    submit_sm read 1.24 ms after they were written, once per hand-over)."""
    cores = sorted(os.sched_getaffinity(0))
    if not pin or len(cores) < 2:
        yield
        return
    os.sched_setaffinity(proc.pid, cores[-1:])
    os.sched_setaffinity(0, cores[:-1])
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)


def start_simulator(rtt_s: float, receipts: bool) -> tuple[subprocess.Popen[str], int]:
    """``smsgate simulator smpp`` on a free port in its own process; (process, port)."""
    argv = [
        sys.executable,
        "-m",
        "smsgate",
        "simulator",
        "smpp",
        "--port",
        "0",
        "--latency",
        str(rtt_s),
        "--receipts",
        "deliver_sm" if receipts else "none",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = spawn(argv, env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    if "listening on" not in banner:
        stop_process(proc)
        raise SystemExit(f"simulator did not start: {banner!r}")
    return proc, int(banner.rsplit(":", 1)[1])


def message(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        id=n,
        phone=f"7916{n % 10_000_000:07d}",
        msg_type=0,
        sender="smsgate",
        text="Your code is 1234",
        parts=1,
        encoding=0,
        options=None,
        test=False,
    )


async def _egress_once(port: int, window: int, count: int) -> tuple[float, float]:
    """(msg/s, this process's CPU seconds) for ``count`` messages, after a warm-up."""
    received: list[Receipt] = []

    async def sink(_: str, receipts: Sequence[Receipt]) -> None:
        received.extend(receipts)

    clock = SystemClock()
    bind = BindSettings(
        host="127.0.0.1", port=port, system_id="bench", password="bench", window=window
    )
    settings = ConnectorSettings(name="bench", binds=(bind,))
    # The dispatcher's hand-over: at most this many messages with the connector at once.
    handover = connector_limits(settings).window
    async with SmppConnector(settings, clock, sink, bind_pacers(clock)) as connector:
        await connector.start()
        await connector.wait_up()
        heap.settle()  # as the gateway does once it is up (smsgate/heap.py)
        await _feed(connector, [message(n) for n in range(handover)], handover)  # warm up
        messages = [message(n) for n in range(count)]
        cpu, start = own_cpu(), time.perf_counter()
        outcomes = await _feed(connector, messages, handover)
        elapsed, cpu = time.perf_counter() - start, own_cpu() - cpu
    accepted = sum(isinstance(o, Accepted) for o in outcomes)
    if accepted != count:
        raise SystemExit(f"only {accepted} of {count} accepted")
    return count / elapsed, cpu


async def _feed(
    connector: SmppConnector, messages: Sequence[OutgoingMessage], handover: int
) -> list[object]:
    """Hand ``messages`` over in batches of ``handover // 2``, two batches side by side."""
    size = max(1, handover // 2)
    batches = [messages[k : k + size] for k in range(0, len(messages), size)]
    outcomes: list[list[object]] = [[] for _ in batches]
    queue = iter(range(len(batches)))

    async def hand_over() -> None:
        for k in queue:
            outcomes[k] = list(await connector.submit(batches[k]))

    await asyncio.gather(hand_over(), hand_over())
    return [outcome for batch in outcomes for outcome in batch]


async def egress(args: argparse.Namespace) -> list[Row]:
    rows = []
    for rtt_ms in args.rtt_ms:
        rtt_s = rtt_ms / 1000
        ceiling = args.window / rtt_s
        count = min(args.max_messages, max(1000, int(ceiling * args.seconds)))
        proc, port = start_simulator(rtt_s, args.receipts)
        try:
            with apart(proc, args.pin):
                simulator_cpu = process_cpu(proc.pid)
                rate, connector_cpu = await _egress_once(port, args.window, count)
                # The warm-up's share is small and ends inside the simulator's figure: a bound.
                simulator_cpu = process_cpu(proc.pid) - simulator_cpu
        finally:
            stop_process(proc)
        detail = (
            f"CPU/msg: connector {connector_cpu / count * 1e6:.0f} µs, "
            f"simulator {simulator_cpu / count * 1e6:.0f} µs"
        )
        rows.append(Row(f"window {args.window}, RTT {rtt_ms:g} ms", rate, ceiling, detail))
    return rows


async def simulator(args: argparse.Namespace) -> list[Row]:
    """The simulator's ceiling and added latency with a client that costs next to nothing."""
    rows = []
    for rtt_ms in args.rtt_ms:
        rtt_s = rtt_ms / 1000
        ceiling = args.window / rtt_s
        count = min(args.max_messages, max(1000, int(ceiling * args.seconds)))
        proc, port = start_simulator(rtt_s, receipts=False)
        try:
            with apart(proc, args.pin):
                await run_noop(port, args.window, min(count, 1000))  # warm up
                simulator_cpu, client_cpu = process_cpu(proc.pid), own_cpu()
                result = await run_noop(port, args.window, count)
                simulator_cpu = process_cpu(proc.pid) - simulator_cpu
                client_cpu = own_cpu() - client_cpu
        finally:
            stop_process(proc)
        median, p99 = result.percentile(0.5) * 1000, result.percentile(0.99) * 1000
        detail = (
            f"submit→resp median {median:.2f} ms (+{median - rtt_ms:.2f}), p99 {p99:.2f} ms; "
            f"CPU/msg: simulator {simulator_cpu / count * 1e6:.0f} µs, "
            f"no-op client {client_cpu / count * 1e6:.0f} µs"
        )
        rows.append(Row(f"no-op ESME, RTT {rtt_ms:g} ms", result.rate, ceiling, detail))
    return rows


async def _intake_once(port: int, login: str, password: str, window: int, count: int) -> float:
    """submit_sm/s from one transceiver bind with ``window`` in flight, each answered OK."""
    settings = SessionSettings(window=window, enquire_link_interval_s=0)
    session = await open_session(
        "127.0.0.1", port, BaseHandler(), clock=SystemClock(), settings=settings
    )
    try:
        bound = await session.bind(BindTransceiver(system_id=login, password=password))
        if bound.command_status != 0:
            raise SystemExit(f"bind refused: 0x{bound.command_status:08X}")

        async def submit(n: int) -> int:
            pdu = SubmitSm(
                destination_addr=f"7916{n % 10_000_000:07d}",
                short_message=f"Your code is {n:06d}".encode("ascii"),
            )
            return (await session.submit_sm(pdu)).command_status

        await asyncio.gather(*(submit(10_000_000 - n) for n in range(window * 5)))  # warm up
        start = time.perf_counter()
        statuses = await asyncio.gather(*(submit(n) for n in range(count)))
        elapsed = time.perf_counter() - start
        await session.unbind()
    finally:
        await session.close()
    refused = sum(1 for status in statuses if status != 0)
    if refused:
        raise SystemExit(f"{refused} of {count} submits refused")
    return count / elapsed


async def intake(args: argparse.Namespace) -> list[Row]:
    """The SMPP server of ``smsgate run`` (each message stored before its submit_sm_resp) beside the
    SMSC simulator, which answers on the same session layer without storing (the ceiling)."""
    count = args.intake_messages
    proc, port = start_simulator(0.0, receipts=False)
    try:
        ceiling = await _intake_once(port, "bench", "bench", args.intake_window, count)
    finally:
        stop_process(proc)
    rows = [Row(f"simulator (no store), window {args.intake_window}", ceiling, ceiling)]
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            # The database helper runs its own event loop: on a thread, beside this one.
            fresh = database(backend, workdir)
            url = await asyncio.to_thread(fresh.__enter__)
            server = Server(server_env(url, workdir, {}), workdir)
            server.start()
            try:
                server.cli("account", "topup", server.login, "100000000")
                server.cli("tariff", "set", "0.01")
                server.cli(
                    "account", "set", server.login,
                    "--smpp-password", "bench123", "--allow-ip", "127.0.0.1",
                )  # fmt: skip
                banner = (workdir / "server.out").read_text()
                found = re.search(r"smpp listening on 127\.0\.0\.1:(\d+)", banner)
                if found is None:
                    raise SystemExit("no SMPP port in the banner")
                rate = await _intake_once(
                    int(found[1]), server.login, "bench123", args.intake_window, count
                )
            finally:
                server.stop()
                await asyncio.to_thread(fresh.__exit__, None, None, None)
        rows.append(Row(f"{backend}: stored, window {args.intake_window}", rate, ceiling))
    return rows


SCENARIOS: dict[str, Scenario] = {"egress": egress, "simulator": simulator, "intake": intake}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", nargs="?", default="egress", choices=sorted(SCENARIOS))
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[1.0, 20.0])
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0, help="messages ≈ ceiling × seconds")
    parser.add_argument("--receipts", action="store_true", help="the simulator sends receipts")
    parser.add_argument("--max-messages", type=int, default=40_000)
    parser.add_argument("--intake-window", type=int, default=100)
    parser.add_argument("--intake-messages", type=int, default=20_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="egress and simulator: leave both processes to the scheduler (see apart())",
    )
    args = parser.parse_args()
    machine = describe_machine()
    print(f"{machine.cpu_model}, {machine.cores} cores, Python {machine.python}, {machine.commit}")
    print(f"load average {os.getloadavg()[0]:.1f}\n")
    print(f"{args.scenario}:")
    for row in uvloop.run(SCENARIOS[args.scenario](args)):
        print(row.line())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
