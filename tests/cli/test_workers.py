"""``smsgate run --workers N``: a supervisor and N gateway processes sharing the listeners
(cli/workers.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ENV
from tests.support.gateway import SMSGATE

# Starting a supervisor and two gateways takes several seconds on a busy 2-core machine.
pytestmark = pytest.mark.timeout(180)

WORKER = re.compile(r"--ready-fd")


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **TEST_ENV,
        "SMSGATE_DATABASE_URL": database_url,
        "SMSGATE_DATA_DIR": str(tmp_path / "var"),
        "SMSGATE_HTTP_PORT": "0",
        "SMSGATE_NODE_ID": "box",
    }


class Supervised:
    def __init__(self, process: subprocess.Popen[str], banner: str) -> None:
        self.process = process
        self.banner = banner
        port = re.search(r"http listening on 127\.0\.0\.1:(\d+)", banner)
        login = re.search(r"login:\s+(\S+)", banner)
        password = re.search(r"password:\s+(\S+)", banner)
        assert port and login and password, banner
        self.base = f"http://127.0.0.1:{port.group(1)}"
        self.creds = {"login": login.group(1), "psw": password.group(1)}

    def workers(self) -> list[int]:
        """The pids of the supervisor's workers (its children running ``smsgate run``)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if fields[1] == str(self.process.pid) and WORKER.search(
                cmdline.decode(errors="replace")
            ):
                found.append(int(stat.parent.name))
        return sorted(found)

    def nodes(self, attempts: int = 40) -> set[str]:
        """Nodes answering /health over fresh connections (the kernel spreads them)."""
        seen = set()
        for _ in range(attempts):
            with httpx.Client() as client:  # a new connection each time
                seen.add(client.get(f"{self.base}/health").json()["node"])
        return seen


@contextmanager
def supervising(env: dict[str, str]) -> Iterator[Supervised]:
    process = subprocess.Popen(  # noqa: S603 - our own command
        [*SMSGATE, "run", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "workers (node ids" in line:
                break
        yield Supervised(process, "".join(lines))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Supervised]:
    """A supervisor on a new SQLite file (it runs the migrations itself)."""
    with supervising(_env(f"sqlite:///{tmp_path / 'smsgate.db'}", tmp_path)) as running:
        yield running


def _exits(pids: list[int]) -> list[int]:
    """A pidfd for each process (readable once it has exited; they are not our children)."""
    return [os.pidfd_open(pid) for pid in pids]


def _gone(pidfds: list[int], timeout: float) -> bool:
    try:
        deadline = time.monotonic() + timeout
        waiting = set(pidfds)
        while waiting and time.monotonic() < deadline:
            done, _, _ = select.select(list(waiting), [], [], deadline - time.monotonic())
            waiting -= set(done)
        return not waiting
    finally:
        for fd in pidfds:
            os.close(fd)


def test_workers_share_the_port_and_the_database(supervised: Supervised) -> None:
    """SQLite, where the workers' writers take turns on one file. (On PostgreSQL the workers are
    ordinary nodes, as tested across processes in tests/dispatch/test_processes.py.)"""
    assert "2 workers (node ids box-w0 … box-w1)" in supervised.banner
    assert len(supervised.workers()) == 2
    assert supervised.nodes() == {"box-w0", "box-w1"}
    # Sends over many connections land on both workers and share one account and one id counter.
    ids, spent = set(), Decimal(0)
    for n in range(30):
        with httpx.Client() as client:
            query = {**supervised.creds, "phones": f"7916100{n:04d}", "mes": f"hi {n}"}
            url = f"{supervised.base}/sys/send.php"
            reply = client.get(url, params={**query, "fmt": "3", "cost": "2"}).json()
        ids.add(reply["id"])
        spent += Decimal(reply["cost"])
    assert ids == set(range(1, 31))
    assert spent > 0
    with httpx.Client() as client:
        query = {**supervised.creds, "fmt": "3"}
        balance = client.get(f"{supervised.base}/sys/balance.php", params=query).json()
    assert Decimal(balance["balance"]) == Decimal("1000.00") - spent  # one account, both workers
    workers = _exits(supervised.workers())
    supervised.process.send_signal(signal.SIGTERM)
    assert supervised.process.wait(timeout=60) == 0
    assert _gone(workers, 10)


def test_a_dead_worker_is_started_again_and_workers_die_with_the_supervisor(
    supervised: Supervised,
) -> None:
    first, second = supervised.workers()
    os.kill(first, signal.SIGKILL)
    assert supervised.process.stdout is not None
    said = supervised.process.stdout.readline()
    assert re.match(r"  worker [01] exited with code -9; starting it again", said), said
    deadline = time.monotonic() + 60
    while supervised.nodes(10) != {"box-w0", "box-w1"}:  # each round: ten requests
        assert time.monotonic() < deadline, "the new worker never answered"
    workers = supervised.workers()
    assert second in workers and first not in workers and len(workers) == 2
    exits = _exits(workers)
    supervised.process.kill()
    supervised.process.wait(timeout=10)
    assert _gone(exits, 15), "orphaned workers kept running"
