"""Benchmark: SMPP end to end (issue 5). One script, one scenario per direction:

``egress``  msg/s from an upstream connector (``SmppConnector``, one transceiver bind) to the SMSC
            simulator (``smsgate simulator smpp`` in a process of its own) for each simulated RTT,
            next to the theoretical ceiling window ÷ RTT (field-notes.md: a bind's rate is about
            window ÷ round-trip time). The RTT is the simulator's latency before each submit_sm_resp.
            Receipts are off unless ``--receipts``, so the submit path is what is measured.

Other scenarios (the SMPP server intake) register themselves in ``SCENARIOS``.

    .venv/bin/python bench/smpp.py                          # egress, window 10, RTT 1 ms and 20 ms
    .venv/bin/python bench/smpp.py egress --rtt-ms 1 5 20 --window 10 --seconds 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvloop

from harness import REPO, describe_machine, spawn, stop_process
from smsgate.channels.base import Accepted, OutgoingMessage, Receipt
from smsgate.channels.smpp.connector import SmppConnector
from smsgate.channels.smpp.settings import BindSettings, ConnectorSettings
from smsgate.clock import SystemClock
from smsgate.dispatch.upstream import bind_pacers


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    rate: float
    ceiling: float

    def line(self) -> str:
        share = self.rate / self.ceiling if self.ceiling else 0.0
        return f"  {self.label:28} {self.rate:10,.0f} msg/s   ceiling {self.ceiling:10,.0f}   {share:6.1%}"


Scenario = Callable[[argparse.Namespace], Awaitable[list[Row]]]


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


async def _egress_once(port: int, window: int, count: int) -> float:
    received: list[Receipt] = []

    async def sink(_: str, receipts: Sequence[Receipt]) -> None:
        received.extend(receipts)

    clock = SystemClock()
    bind = BindSettings(
        host="127.0.0.1", port=port, system_id="bench", password="bench", window=window
    )
    settings = ConnectorSettings(name="bench", binds=(bind,))
    async with SmppConnector(settings, clock, sink, bind_pacers(clock)) as connector:
        await connector.start()
        await connector.wait_up()
        await connector.submit([message(n) for n in range(window * 20)])  # warm up
        batch = [message(n) for n in range(count)]
        start = time.perf_counter()
        outcomes = await connector.submit(batch)
        elapsed = time.perf_counter() - start
    accepted = sum(isinstance(o, Accepted) for o in outcomes)
    if accepted != count:
        raise SystemExit(f"only {accepted} of {count} accepted")
    return count / elapsed


async def egress(args: argparse.Namespace) -> list[Row]:
    rows = []
    for rtt_ms in args.rtt_ms:
        rtt_s = rtt_ms / 1000
        ceiling = args.window / rtt_s
        count = min(args.max_messages, max(1000, int(ceiling * args.seconds)))
        proc, port = start_simulator(rtt_s, args.receipts)
        try:
            rate = await _egress_once(port, args.window, count)
        finally:
            stop_process(proc)
        rows.append(Row(f"window {args.window}, RTT {rtt_ms:g} ms", rate, ceiling))
    return rows


SCENARIOS: dict[str, Scenario] = {"egress": egress}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", nargs="?", default="egress", choices=sorted(SCENARIOS))
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[1.0, 20.0])
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0, help="messages ≈ ceiling × seconds")
    parser.add_argument("--receipts", action="store_true", help="the simulator sends receipts")
    parser.add_argument("--max-messages", type=int, default=40_000)
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
