"""Benchmark: sending over the SMSC-compatible HTTP API (``/sys/send.php``).

For each back end (SQLite, PostgreSQL) this script starts ``smsgate run`` on a fresh database, tops
up the demo account, sets a cheap price, and drives the server from a load generator in a process of
its own (``bench/loadgen.py``, keep-alive HTTP/1.1 connections) through four scenarios:

1. ``GET /health`` as fast as it is answered: the ceiling of this server on this machine;
2. closed-loop ``send.php`` with one number per request;
3. closed-loop ``send.php`` with 1,000 numbers per request;
4. open-loop ``send.php`` with one number per request at a fixed rate; latency is measured from
   each request's scheduled time, so queueing behind a slow server counts.

Every figure is printed next to the same run's ``/health`` throughput; the ratio is what compares
across machines. Targets (issue "Sending over the SMSC-compatible HTTP API", 2-core machine, SQLite):
≥ 3,000 accepted single-number sends/s, ≥ 30,000 accepted messages/s in 1,000-number requests,
p99 ≤ 50 ms at 1,000 requests/s.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/http_send.py                      # both back ends, default durations
    .venv/bin/python bench/http_send.py --backend sqlite --duration 10 --markdown

Only 127.0.0.1 is contacted. Servers, load generators and temporary databases are removed on exit,
Ctrl-C included. Results go into docs/benchmarks.md (``--markdown`` prints a ready table).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import sys
import tempfile
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    WRITER_OPERATIONS,
    WRITER_TRANSACTIONS,
    BenchError,
    CpuUsage,
    Interrupted,
    LoadResult,
    Machine,
    Server,
    database,
    describe_machine,
    install_sigterm,
    run_loadgen,
    server_env,
    wait_until_settled,
)

TOPUP = "100000000"
PRICE = "0.01"
BULK_NUMBERS = 1000

# Scenario names, in the order they run and are reported.
HEALTH = "/health (ceiling)"
SINGLE = "send, 1 number per request"
BULK = f"send, {BULK_NUMBERS:,} numbers per request"
OPEN = "send, 1 number, fixed rate"

# Blocks of numbers (first, count) per scenario, all valid Russian mobile numbers (+7 916 …):
# no number gets a burst of messages (the flood rule, http-api.md §1.7) and no two requests of a
# run are identical (a second identical send within 60 s is error 9).
SINGLE_NUMBERS = (79160000000, 2_000_000)
OPEN_NUMBERS = (79162000000, 1_000_000)
BULK_NUMBER_BLOCK = (79163000000, 6_000_000)
PROBE_NUMBER = "79169999999"


@dataclass(frozen=True, slots=True)
class Target:
    """A target of the issue; they apply to SQLite on the 2-core reference machine."""

    text: str
    met: Callable[[Figure], bool]


@dataclass(slots=True)
class Figure:
    backend: str
    scenario: str
    requests_per_s: float = 0.0
    messages_per_s: float | None = None  # accepted messages (parts), send scenarios only
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    unfinished: int = 0
    rate: float = 0.0
    cpu: CpuUsage = field(default_factory=CpuUsage)
    commits_per_s: float | None = None
    writer_ops_per_request: float | None = None
    note: str = ""  # why there are no numbers

    @classmethod
    def measured(cls, backend: str, scenario: str, run: LoadResult, *, send: bool) -> Figure:
        report = run.report
        window = float(report["window_s"]) or 1.0
        completed = int(report["completed_total"])
        transactions = run.writer.get(WRITER_TRANSACTIONS)
        operations = run.writer.get(WRITER_OPERATIONS)
        return cls(
            backend=backend,
            scenario=scenario,
            requests_per_s=report["requests"] / window,
            messages_per_s=report["messages"] / window if send else None,
            latency_ms=report["latency_ms"],
            errors=report["errors"],
            unfinished=int(report.get("unfinished", 0)),
            cpu=run.cpu,
            commits_per_s=None if transactions is None else transactions / run.wall_s,
            writer_ops_per_request=(
                None if operations is None or not completed else operations / completed
            ),
        )

    @property
    def p99_ms(self) -> float | None:
        return self.latency_ms.get("p99")


def _p99_within(limit_ms: float) -> Callable[[Figure], bool]:
    def met(figure: Figure) -> bool:
        p99 = figure.p99_ms
        return p99 is not None and p99 <= limit_ms and not figure.unfinished and not figure.errors

    return met


def _messages_at_least(minimum: float) -> Callable[[Figure], bool]:
    return lambda figure: (figure.messages_per_s or 0.0) >= minimum


TARGETS = {
    SINGLE: Target("≥ 3,000 msg/s", _messages_at_least(3000)),
    BULK: Target("≥ 30,000 msg/s", _messages_at_least(30000)),
    OPEN: Target("p99 ≤ 50 ms", _p99_within(50.0)),
}


# --------------------------------------------------------------------------------------------------
# Running


def concurrency_limit(connections: int) -> int:
    """``limits.concurrent`` for the run: SMSC refuses a 15th request of one login in progress at
    once, and the load generator keeps ``connections`` in flight for the one demo login. A slot is
    freed just after its reply is sent, so a connection's next request may briefly overlap it."""
    return max(15, 2 * connections + 1)


def run_backend(backend: str, args: argparse.Namespace) -> list[Figure]:
    print(f"\n== {backend}", flush=True)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smsgate-bench-")))
        url = stack.enter_context(database(backend, workdir))
        limit = str(concurrency_limit(max(args.connections, args.bulk_connections)))
        env = server_env(url, workdir, {"SMSGATE_LIMITS_CONCURRENT": limit})
        server = Server(env, workdir, workers=args.workers)
        stack.callback(server.stop)
        server.start()
        print(f"    server pid {server.proc.pid if server.proc else '?'} on port {server.port}")
        print(f"    {server.cli('account', 'topup', server.login, TOPUP)}")
        print(f"    {server.cli('tariff', 'set', PRICE)}")
        query = urllib.parse.urlencode({"login": server.login, "psw": server.password, "fmt": 3})
        status, body = server.get(f"/sys/balance.php?{query}")  # also warms the password cache
        print(f"    balance.php smoke check: HTTP {status} {body.strip()[:80]}")
        figures = run_scenarios(backend, server, args, url)
        if not server.alive():
            raise BenchError(f"the server died during the run:\n{server.log_tail()}")
    return figures


def run_scenarios(backend: str, server: Server, args: argparse.Namespace, url: str) -> list[Figure]:
    base = {"port": server.port, "duration_s": args.duration, "warmup_s": args.warmup}
    health = {"mode": "closed", "connections": args.connections}
    health["request"] = {"kind": "get", "path": "/health"}
    print(f"    {HEALTH} …", flush=True)
    figures = [Figure.measured(backend, HEALTH, run_loadgen(base | health, server), send=False)]
    progress(figures[-1])
    missing = send_probe(server)
    for name, plan in send_plans(server, args):
        if missing:
            figures.append(Figure(backend=backend, scenario=name, note=missing))
            continue
        settled = wait_until_settled(url)  # each scenario starts on a server with nothing to do
        print(f"    {name} (earlier messages worked off after {settled:.1f} s) …", flush=True)
        figure = Figure.measured(backend, name, run_loadgen(base | plan, server), send=True)
        figure.rate = float(plan.get("rate", 0.0))
        figures.append(figure)
        progress(figure)
    if missing:
        print(f"    send scenarios skipped: {missing}")
    return figures


def send_probe(server: Server) -> str:
    """'' when send.php accepts a message; otherwise why the send scenarios cannot run."""
    form = {"login": server.login, "psw": server.password, "phones": PROBE_NUMBER}
    status, body = server.post_form("/sys/send.php", form | {"mes": "bench probe", "fmt": "3"})
    if status == 404:
        return "pending: send.php not merged yet (endpoint missing, HTTP 404)"
    if status != 200:
        return f"send.php answered HTTP {status}: {body[:120]}"
    print(f"    send.php probe: {body.strip()[:120]}")
    return ""


def send_plans(server: Server, args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """The three send scenarios, each with its own block of numbers and its own text tag."""

    def request(tag: str, numbers: tuple[int, int], per_request: int = 1) -> dict[str, Any]:
        return {
            "kind": "send",
            "login": server.login,
            "psw": server.password,
            "tag": tag,
            "phones_per_request": per_request,
            "first_number": numbers[0],
            "number_span": numbers[1],
        }

    closed, many = args.connections, args.bulk_connections
    bulk = request("b", BULK_NUMBER_BLOCK, BULK_NUMBERS)
    fixed = {"mode": "open", "rate": args.rate, "connections": closed}
    return [
        (
            SINGLE,
            {"mode": "closed", "connections": closed, "request": request("s", SINGLE_NUMBERS)},
        ),
        (BULK, {"mode": "closed", "connections": many, "request": bulk}),
        (OPEN, fixed | {"request": request("o", OPEN_NUMBERS)}),
    ]


def progress(figure: Figure) -> None:
    messages = "" if figure.messages_per_s is None else f", {figure.messages_per_s:,.0f} msg/s"
    p99 = "" if figure.p99_ms is None else f", p99 {figure.p99_ms:.1f} ms"
    print(f"      {figure.requests_per_s:,.0f} req/s{messages}{p99}; errors: {_errors(figure)}")


# --------------------------------------------------------------------------------------------------
# Report


HEADER = [
    "back end",
    "scenario",
    "req/s",
    "accepted msg/s",
    "÷ /health req/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "errors",
    "commits/s, writer ops/req",
    "CPU cores: server / postgres / load gen / other",
    "target (SQLite)",
]


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _ms(figure: Figure, key: str) -> str:
    value = figure.latency_ms.get(key)
    return "—" if value is None else f"{value:,.1f}"


def _ratio(figure: Figure, ceiling: float) -> str:
    if figure.note or not ceiling:
        return "—"
    value = figure.messages_per_s if figure.messages_per_s is not None else figure.requests_per_s
    return f"{value / ceiling:.2f}"


def _errors(figure: Figure) -> str:
    parts = [f"{count:,} × {label}" for label, count in figure.errors.items()]
    if figure.unfinished:
        parts.append(f"{figure.unfinished:,} unanswered")
    return "; ".join(parts) or "none"


def _writer(figure: Figure) -> str:
    if figure.commits_per_s is None or figure.writer_ops_per_request is None:
        return "—"
    return f"{figure.commits_per_s:,.0f}, {figure.writer_ops_per_request:.1f}"


def _target(figure: Figure) -> str:
    target = TARGETS.get(figure.scenario)
    if target is None or figure.backend != "sqlite":
        return ""
    if figure.note:
        return f"{target.text}: pending"
    return f"{target.text}: {'met' if target.met(figure) else 'MISSED'}"


def _scenario(figure: Figure) -> str:
    if figure.scenario == OPEN and figure.rate:
        return f"{figure.scenario}, {figure.rate:,.0f} req/s offered"
    return figure.scenario


def rows(figures: Sequence[Figure]) -> list[list[str]]:
    ceilings = {f.backend: f.requests_per_s for f in figures if f.scenario == HEALTH}
    table = []
    for figure in figures:
        if figure.note:
            cells = ["—"] * 6 + [figure.note, "—", "—"]
        else:
            cells = [
                _num(figure.requests_per_s),
                _num(figure.messages_per_s),
                _ratio(figure, ceilings.get(figure.backend, 0.0)),
                _ms(figure, "p50"),
                _ms(figure, "p99"),
                _ms(figure, "max"),
                _errors(figure),
                _writer(figure),
                figure.cpu.describe(),
            ]
        table.append([figure.backend, _scenario(figure), *cells, _target(figure)])
    return table


def settings_line(args: argparse.Namespace) -> str:
    limit = concurrency_limit(max(args.connections, args.bulk_connections))
    return (
        f"{args.duration:g} s measured per scenario after {args.warmup:g} s of warm-up; "
        f"{args.connections} keep-alive connections ({args.bulk_connections} for "
        f"{BULK_NUMBERS:,}-number requests); open loop at {args.rate:,.0f} req/s; "
        f"limits.concurrent={limit}; price {PRICE} per part; "
        f"{args.workers} gateway process{'es' if args.workers > 1 else ''} (--workers)"
    )


def print_text(figures: Sequence[Figure], machine: Machine, args: argparse.Namespace) -> None:
    table = [HEADER, *rows(figures)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    print(f"\nmachine: {machine.describe()}")
    print(f"settings: {settings_line(args)}")
    for n, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * width for width in widths))


def print_markdown(figures: Sequence[Figure], machine: Machine, args: argparse.Namespace) -> None:
    command = " ".join([".venv/bin/python", "bench/http_send.py", *sys.argv[1:]])
    print(f"\n### {datetime.date.today().isoformat()}, commit {machine.commit}\n")
    print(f"- Machine: {machine.describe()}")
    print(f"- Command: `{command}`")
    print(f"- Settings: {settings_line(args)}\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "|".join("---" for _ in HEADER) + "|")
    for row in rows(figures):
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


# --------------------------------------------------------------------------------------------------
# Entry point


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark send.php of smsgate's HTTP API.")
    add = parser.add_argument
    add("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    add("--duration", type=float, default=8.0, help="measured seconds per scenario (8)")
    add("--warmup", type=float, default=1.0, help="unmeasured seconds before each (1)")
    add("--connections", type=int, default=48, help="keep-alive connections (48)")
    add("--bulk-connections", type=int, default=4, help="connections, 1,000-number sends (4)")
    add("--rate", type=float, default=1000.0, help="open-loop requests per second (1000)")
    add("--workers", type=int, default=1, help="gateway processes (smsgate run --workers, 1)")
    add("--markdown", action="store_true", help="also print a table for docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not (0 < args.duration <= 600 and 0 <= args.warmup <= 60):
        parser.error("--duration must be in (0, 600] and --warmup in [0, 60]")
    if not (1 <= args.connections <= 1000 and 1 <= args.bulk_connections <= 1000):
        parser.error("--connections and --bulk-connections must be in 1..1000")
    if not 0 < args.rate <= 100_000:
        parser.error("--rate must be in (0, 100000]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec("smsgate") is None or importlib.util.find_spec("uvloop") is None:
        print("run with the project's virtualenv: .venv/bin/python bench/http_send.py")
        return 2
    install_sigterm()
    machine = describe_machine()
    print(f"machine: {machine.describe()}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures: list[Figure] = []
    failed = False
    try:
        for backend in backends:
            try:
                figures.extend(run_backend(backend, args))
            except BenchError as exc:
                failed = True
                print(f"    {backend}: {exc}")
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: servers stopped, temporary databases removed")
        return 130
    if figures:
        print_text(figures, machine, args)
        if args.markdown:
            print_markdown(figures, machine, args)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
