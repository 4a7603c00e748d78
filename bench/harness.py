"""Plumbing shared by the benchmarks in ``bench/``: the machine and commit, CPU accounting, the server
under test on a fresh database, and the load generator in a process of its own.

Every child (server, CLI, load generator) runs in its own session, so Ctrl-C reaches only the
benchmark, which then stops the children itself; on Linux a child also gets SIGTERM if the benchmark
dies without cleaning up. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import platform
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

HOST = "127.0.0.1"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
LOADGEN = Path(__file__).with_name("loadgen.py")
REPO = Path(__file__).resolve().parent.parent
BANNER_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
_TICK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The benchmark cannot go on (server did not start, database unreachable, …)."""


class Interrupted(BaseException):
    """SIGTERM, turned into an exception so that every cleanup block runs."""


def _raise_interrupted(_signum: int, _frame: object) -> NoReturn:
    raise Interrupted


def install_sigterm() -> None:
    signal.signal(signal.SIGTERM, _raise_interrupted)


# --------------------------------------------------------------------------------------------------
# Machine and commit


@dataclass(frozen=True, slots=True)
class Machine:
    cores: int
    cpu_model: str
    python: str
    commit: str

    def describe(self) -> str:
        return (
            f"{self.cores} × {self.cpu_model}, Python {self.python}, "
            f"{platform.system()} {platform.release()}, commit {self.commit}"
        )


def describe_machine() -> Machine:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return Machine(
        cores=os.cpu_count() or 1,
        cpu_model=model,
        python=platform.python_version(),
        commit=git_commit(),
    )


def git_commit() -> str:
    """``git rev-parse --short HEAD``, with ``+dirty`` when src/ has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


# --------------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc; zeros elsewhere)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process and its live children (the workers
    of ``smsgate run --workers``) have used so far."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself, or ppid is pid
                total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def postgres_cpu_s() -> float:
    """CPU seconds used so far by the live ``postgres`` processes, plus the CPU of exited backends
    (counted in the postmaster's reaped-children times), so connection churn is not lost."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = stat.read_text()
            if "(postgres)" in text[:64]:
                fields = text.rsplit(")", 1)[1].split()
                total += sum(int(v) for v in fields[11:15]) / _TICK  # utime stime cutime cstime
    return total


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy so far (``/proc/stat``)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    return (sum(values) - values[3] - values[4]) / _TICK  # minus idle and iowait


@dataclass(frozen=True, slots=True)
class CpuUsage:
    """Average cores in use during a run, by whom."""

    server: float = 0.0
    postgres: float = 0.0
    loadgen: float = 0.0
    other: float = 0.0  # everything else on the machine: kernel threads, other users' jobs

    def describe(self) -> str:
        return f"{self.server:.2f} / {self.postgres:.2f} / {self.loadgen:.2f} / {self.other:.2f}"


class CpuMeter:
    """Measures a server process, PostgreSQL and the whole machine between start() and stop()."""

    def __init__(self, server_pid: int | None) -> None:
        self._pid = server_pid
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        server = process_cpu_s(self._pid) if self._pid is not None else 0.0
        return time.monotonic(), server, postgres_cpu_s(), machine_busy_s()

    def stop(self, loadgen_cpu_s: float) -> CpuUsage:
        end = self._sample()
        wall = max(1e-9, end[0] - self._start[0])
        server, postgres, busy = ((end[i] - self._start[i]) / wall for i in (1, 2, 3))
        loadgen = loadgen_cpu_s / wall
        postgres = max(0.0, postgres)
        return CpuUsage(server, postgres, loadgen, max(0.0, busy - server - postgres - loadgen))


# --------------------------------------------------------------------------------------------------
# Child processes


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the benchmark dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while cleaning up, so a second Ctrl-C cannot cut it short."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def spawn(argv: Sequence[str], env: Mapping[str, str], **kwargs: Any) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        list(argv),
        env=dict(env),
        start_new_session=True,  # Ctrl-C reaches the benchmark only; it stops the children
        preexec_fn=_die_with_parent,  # safe here: the benchmark starts no threads
        **kwargs,
    )


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the child's process group, then SIGKILL it if still there after ``timeout_s``."""
    with signals_deferred():
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --------------------------------------------------------------------------------------------------
# Databases


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """The URL of a fresh, empty database; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'smsgate.db'}"
        return
    name = f"smsgate_bench_{os.getpid()}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with signals_deferred():
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_admin(statement: str) -> None:
    try:
        import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
    except ImportError as exc:
        raise BenchError("asyncpg is not installed: run with the project's virtualenv") from exc
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise BenchError(f"cannot connect to {PG_ADMIN_URL}: {exc}") from exc
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# What the server still has to do for messages it accepted: hand them over (status -1), wait for
# their receipts (status 0), and turn their status events into callbacks (or drop them, for
# accounts without a callback URL).
_BACKLOG = (
    "SELECT (SELECT count(*) FROM messages WHERE status = -1),"
    " (SELECT count(*) FROM messages WHERE status = 0),"
    " (SELECT count(*) FROM events WHERE callback_pending)"
)


def backlog(url: str) -> tuple[int, int, int]:
    """(waiting, awaiting receipts, status events pending) on the server's database, read directly."""
    if url.startswith("sqlite:///"):
        path = url.split(":///", 1)[1]
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as c:
            row = c.execute(_BACKLOG).fetchone()
    else:
        row = asyncio.run(_pg_row(url, _BACKLOG))
    return int(row[0]), int(row[1]), int(row[2])


def wait_until_settled(url: str, timeout_s: float = 600.0) -> float:
    """Block until the server has worked off every accepted message; the seconds it took.

    A scenario that starts while the server still works off the previous one's messages would be
    measured against that work, not against what it offers. Messages still awaiting a receipt count
    until their number stops falling for two seconds (a receipt may never come)."""
    start = time.monotonic()
    last: tuple[int, float] | None = None
    while True:
        waiting, transferred, events = backlog(url)
        now = time.monotonic()
        if not waiting and not events:
            if not transferred:
                break
            if last is None or transferred < last[0]:
                last = (transferred, now)
            elif now - last[1] >= 2.0:
                break
        if now - start > timeout_s:
            raise BenchError(f"still working off earlier messages after {timeout_s:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - start


async def _pg_row(url: str, query: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetchrow(query)
    finally:
        await conn.close()


# --------------------------------------------------------------------------------------------------
# The server under test


@dataclass(slots=True)
class Server:
    """``smsgate run`` in a subprocess, with the demo credentials from its start-up banner."""

    env: dict[str, str]
    workdir: Path
    workers: int = 1  # ``smsgate run --workers``
    proc: subprocess.Popen[Any] | None = None
    port: int = 0
    login: str = ""
    password: str = ""

    def start(self) -> None:
        with (
            (self.workdir / "server.out").open("wb") as stdout,
            (self.workdir / "server.err").open("wb") as stderr,
        ):
            self.proc = spawn(
                [sys.executable, "-m", "smsgate", "run", "--workers", str(self.workers)],
                self.env,
                cwd=self.workdir,
                stdout=stdout,
                stderr=stderr,
            )
        self._read_banner()

    def _read_banner(self) -> None:
        """Port and demo credentials, as ``smsgate run`` prints them before ``health:``."""
        assert self.proc is not None
        out = self.workdir / "server.out"
        deadline = time.monotonic() + BANNER_TIMEOUT_S
        while "health:" not in (banner := out.read_text(errors="replace")):
            if self.proc.poll() is not None:
                raise BenchError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"no start-up banner within {BANNER_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        port = re.search(r"http listening on 127\.0\.0\.1:(\d+)", banner)
        login = re.search(r"^\s*login:\s+(\S+)", banner, re.MULTILINE)
        password = re.search(r"^\s*password:\s+(\S+)", banner, re.MULTILINE)
        if not (port and login and password):
            raise BenchError(f"cannot read port and demo credentials from the banner:\n{banner}")
        self.port, self.login, self.password = int(port[1]), login[1], password[1]

    def cli(self, *args: str) -> str:
        """Run ``smsgate <args>`` against the same database and settings as the server."""
        done = subprocess.run(
            [sys.executable, "-m", "smsgate", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"smsgate {' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout.strip()

    def get(self, path: str) -> tuple[int, str]:
        """One request for a smoke check or a metrics scrape (never for load)."""
        return self._call(urllib.request.Request(f"http://{HOST}:{self.port}{path}"))

    def post_form(self, path: str, form: Mapping[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode("ascii")
        return self._call(urllib.request.Request(f"http://{HOST}:{self.port}{path}", data=data))

    @staticmethod
    def _call(request: urllib.request.Request) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return int(reply.status), reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def metrics(self, *names: str) -> dict[str, float]:
        """Values of the named Prometheus samples on ``/metrics`` (missing ones are absent)."""
        status, body = self.get("/metrics")
        found: dict[str, float] = {}
        if status != 200:
            return found
        for line in body.splitlines():
            name, _, value = line.partition(" ")
            if name in names:
                with contextlib.suppress(ValueError):
                    found[name] = float(value)
        return found

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "server.err"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def server_env(url: str, workdir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of the server and of the CLI commands run against it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    env.update(
        SMSGATE_HTTP_PORT="0",
        SMSGATE_SMTP_PORT="0",  # `run` starts every listener; a fixed port would clash between runs
        SMSGATE_SMPP_PORT="0",
        SMSGATE_DATABASE_URL=url,
        SMSGATE_DATA_DIR=str(workdir),
        SMSGATE_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------------
# The load generator


WRITER_TRANSACTIONS = "smsgate_writer_transactions_total"
WRITER_OPERATIONS = "smsgate_writer_operations_total"


@dataclass(slots=True)
class LoadResult:
    """What ``loadgen.py`` reported, plus what the server and the machine did meanwhile."""

    report: dict[str, Any]
    cpu: CpuUsage
    wall_s: float
    writer: dict[str, float] = field(default_factory=dict)  # counter increases during the run


def run_loadgen(scenario: Mapping[str, Any], server: Server) -> LoadResult:
    """Run one scenario in a load-generator process; BenchError if it fails."""
    budget = float(scenario["duration_s"]) + float(scenario.get("warmup_s", 1.0)) + 60.0
    # With several workers /metrics answers for whichever took the connection: no writer figures.
    counters = (WRITER_TRANSACTIONS, WRITER_OPERATIONS) if server.workers == 1 else ()
    before = server.metrics(*counters)
    meter = CpuMeter(server.proc.pid if server.proc is not None else None)
    started = time.monotonic()
    proc = spawn(
        [sys.executable, str(LOADGEN)],
        os.environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(json.dumps(scenario), timeout=budget)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"load generator still running after {budget:.0f} s") from exc
    finally:
        stop_process(proc, timeout_s=2.0)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise BenchError(f"load generator failed ({proc.returncode}): {err.strip()[-2000:]}")
    if err.strip():
        print(f"      load generator said: {err.strip()[-2000:]}")
    report: dict[str, Any] = json.loads(out)
    cpu = meter.stop(float(report["cpu_s"]))
    after = server.metrics(*counters)
    writer = {
        name: after[name] - before[name] for name in counters if name in before and name in after
    }
    return LoadResult(report, cpu, wall, writer)
