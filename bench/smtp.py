"""Benchmark: e-mails accepted per second by the SMTP ingress (issue 9, e-mail to SMS).

For each back end (SQLite, PostgreSQL) this script starts ``smsgate run`` on a fresh database, tops
up the demo account, sets a cheap price, and drives the SMTP listener from a load generator in a
process of its own (aiosmtplib, plain connections). Every mail is a ``send@`` mail in the colon
grammar with the demo credentials in the body and one recipient; each reply is the ``250`` sent after
the message was committed. Scenarios, closed loop (a connection sends its next mail when the last
one was answered):

1. one connection;
2. eight concurrent connections;
3. 32 concurrent connections (how far group commit carries when more mails are in flight).

The ceiling next to them is a bare aiosmtpd server (a handler that answers ``250`` to every mail and
stores nothing), started by this script on the same machine and driven the same way: the rate any
aiosmtpd-based ingress could reach here with this client. Target (issue 9): ≥ 500 mails/s.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/smtp.py                                  # both back ends, 10 s each
    .venv/bin/python bench/smtp.py --backend sqlite --duration 5

Only 127.0.0.1 is contacted. Servers, load generators and temporary databases are removed on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    HOST,
    BenchError,
    Interrupted,
    Server,
    database,
    describe_machine,
    install_sigterm,
    server_env,
    spawn,
    stop_process,
)

TOPUP = "100000000"
PRICE = "0.01"
TARGET = 500.0
CONNECTIONS = (1, 8, 32)
# Every mail goes to another number (+7 916 …): no number gets a burst (the flood rule) and no two
# mails are identical (a second identical send within 60 s is refused).
FIRST_NUMBER = 79160000000
NUMBERS_PER_CONNECTION = 200_000


@dataclass(slots=True)
class Figure:
    backend: str
    scenario: str
    mails_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# The load generator (``--loadgen``, its own process; a scenario as JSON on stdin, a report out)


async def loadgen(scenario: dict[str, Any]) -> dict[str, Any]:
    import aiosmtplib

    loop = asyncio.get_running_loop()
    started = loop.time()
    measure_from = started + float(scenario["warmup_s"])
    stop_at = measure_from + float(scenario["duration_s"])
    latencies: list[float] = []
    errors: dict[str, int] = {}
    base = int(scenario["first_number"])

    async def connection(index: int) -> None:
        async with aiosmtplib.SMTP(
            hostname=HOST, port=int(scenario["port"]), start_tls=False, timeout=60
        ) as smtp:
            n = 0
            while (now := loop.time()) < stop_at:
                phone = base + index * NUMBERS_PER_CONNECTION + n
                body = f"{scenario['login']}:{scenario['password']}:::::{phone}:bench {index} {n}"
                message = (
                    "From: bench@example.com\r\nTo: send@smsgate.test\r\nSubject: bench\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
                ).encode()
                n += 1
                try:
                    await smtp.mail("bench@example.com")
                    await smtp.rcpt("send@smsgate.test")
                    reply = await smtp.data(message)
                    code = reply.code
                except aiosmtplib.SMTPResponseException as exc:
                    code = exc.code
                    await smtp.rset()
                done = loop.time()
                if now >= measure_from and done <= stop_at:
                    if code == 250:
                        latencies.append(done - now)
                    else:
                        errors[str(code)] = errors.get(str(code), 0) + 1

    await asyncio.gather(*(connection(i) for i in range(int(scenario["connections"]))))
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {
        "accepted": len(latencies),
        "window_s": float(scenario["duration_s"]),
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99)} if latencies else {},
        "errors": errors,
    }


def run_loadgen(scenario: dict[str, Any]) -> dict[str, Any]:
    budget = float(scenario["duration_s"]) + float(scenario["warmup_s"]) + 60.0
    proc = spawn(
        [sys.executable, __file__, "--loadgen"],
        dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(json.dumps(scenario), timeout=budget)
    finally:
        stop_process(proc, timeout_s=2.0)
    if proc.returncode != 0:
        raise BenchError(f"load generator failed ({proc.returncode}): {err.strip()[-2000:]}")
    report: dict[str, Any] = json.loads(out)
    return report


# --------------------------------------------------------------------------------------------------
# The ceiling: a bare aiosmtpd server (``--bare``, its own process; prints its port)


async def bare_server() -> None:
    from aiosmtpd.smtp import SMTP

    class Accept:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 2.0.0 OK"

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Accept(), hostname="bare", enable_SMTPUTF8=True, loop=loop), HOST, 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


# --------------------------------------------------------------------------------------------------
# Running


def scenario(port: int, connections: int, args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    return {
        "port": port,
        "connections": connections,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "login": "x",
        "password": "y",
        "first_number": FIRST_NUMBER,
    } | extra


def measure(backend: str, name: str, plan: dict[str, Any]) -> Figure:
    print(f"    {name} …", flush=True)
    report = run_loadgen(plan)
    figure = Figure(
        backend=backend,
        scenario=name,
        mails_per_s=report["accepted"] / report["window_s"],
        latency_ms=report["latency_ms"],
        errors=report["errors"],
    )
    latency = ", ".join(f"{k} {v:.1f} ms" for k, v in figure.latency_ms.items())
    print(f"      {figure.mails_per_s:,.0f} mails/s ({latency}) errors {figure.errors or 'none'}")
    return figure


def run_ceiling(args: argparse.Namespace) -> list[Figure]:
    print("\n== ceiling: bare aiosmtpd, nothing stored", flush=True)
    proc = spawn(
        [sys.executable, __file__, "--bare"],
        dict(os.environ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        return [
            measure("—", f"bare aiosmtpd, {n} connection(s)", scenario(port, n, args))
            for n in CONNECTIONS
        ]
    finally:
        stop_process(proc)


def run_backend(backend: str, args: argparse.Namespace) -> list[Figure]:
    print(f"\n== {backend}", flush=True)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smsgate-bench-")))
        url = stack.enter_context(database(backend, workdir))
        # SMSC refuses a 15th request of one login in progress at once; every connection is the demo's.
        limit = str(max(15, 2 * max(CONNECTIONS) + 1))
        env = server_env(
            url, workdir, {"SMSGATE_SMTP_PORT": "0", "SMSGATE_LIMITS_CONCURRENT": limit}
        )
        server = Server(env, workdir, workers=args.workers)
        stack.callback(server.stop)
        server.start()
        found = re.search(
            r"smtp listening on 127\.0\.0\.1:(\d+)", (workdir / "server.out").read_text()
        )
        if not found:
            raise BenchError("the server did not report an SMTP listener")
        port = int(found[1])
        print(f"    server pid {server.proc.pid if server.proc else '?'}, SMTP port {port}")
        print(f"    {server.cli('account', 'topup', server.login, TOPUP)}")
        print(f"    {server.cli('tariff', 'set', PRICE)}")
        credentials = {"login": server.login, "password": server.password}
        figures = []
        for offset, n in enumerate(CONNECTIONS):
            first = FIRST_NUMBER + offset * 8 * NUMBERS_PER_CONNECTION
            plan = scenario(port, n, args, first_number=first, **credentials)
            figures.append(measure(backend, f"smsgate, {n} connection(s)", plan))
        if not server.alive():
            raise BenchError(f"the server died during the run:\n{server.log_tail()}")
    return figures


def report(figures: list[Figure], args: argparse.Namespace) -> None:
    machine = describe_machine()
    print(f"\n### {time.strftime('%Y-%m-%d')}\n")
    print(
        f"- machine: {machine.describe()}; {args.duration:g} s per scenario after {args.warmup:g} s"
        f" warm-up; {args.workers} gateway process(es)"
    )
    print(f"- command: `.venv/bin/python bench/smtp.py {' '.join(sys.argv[1:])}`".rstrip() + "\n")
    print("| back end | scenario | mails/s | ÷ ceiling | p50 ms | p99 ms | errors | target |")
    print("|---|---|---|---|---|---|---|---|")
    ceilings = {f.scenario.rsplit(",", 1)[1]: f.mails_per_s for f in figures if f.backend == "—"}
    for f in figures:
        ceiling = ceilings.get(f.scenario.rsplit(",", 1)[1])
        ratio = f"{f.mails_per_s / ceiling:.2f}" if ceiling and f.backend != "—" else ""
        target = ""
        if f.backend != "—":
            target = f"≥ {TARGET:,.0f}/s: {'met' if f.mails_per_s >= TARGET else 'NOT met'}"
        print(
            f"| {f.backend} | {f.scenario} | {f.mails_per_s:,.0f} | {ratio} "
            f"| {f.latency_ms.get('p50', 0):.1f} | {f.latency_ms.get('p99', 0):.1f} "
            f"| {f.errors or 'none'} | {target} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1, help="smsgate run --workers (1)")
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        print(json.dumps(asyncio.run(loadgen(json.loads(sys.stdin.read())))))
        return
    if args.bare:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(bare_server())
        return
    install_sigterm()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    try:
        figures = run_ceiling(args)
        for backend in backends:
            figures += run_backend(backend, args)
    except (BenchError, Interrupted, KeyboardInterrupt) as exc:
        sys.exit(f"bench/smtp.py: {exc or type(exc).__name__}")
    report(figures, args)


if __name__ == "__main__":
    main()
