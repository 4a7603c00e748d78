"""Several gateway processes on one machine: ``smsgate run --workers N`` (``runtime.workers``).

One Python process runs on one core at a time (the GIL), so on a machine with more cores one
``smsgate run`` leaves the others idle. With ``--workers N`` the command becomes a supervisor:

* it prepares once: migrations, the demo account, and a concrete port for every listener configured
  with port 0 (held bound until the workers have bound it too, so nobody else takes it);
* it starts N copies of ``smsgate run`` as child processes. Each is a node of its own (node id
  ``<node>-w<i>``), exactly as if it ran on another machine against the same database: requests in
  progress, connector leases and dispatcher claims already work across nodes. All of them listen on
  the same ports with ``SO_REUSEPORT``, and the kernel spreads connections over them;
* it prints the banner once every worker listens, forwards SIGINT/SIGTERM, and starts a worker
  again when one dies (with a growing pause if it keeps dying). The workers stop on their own when
  the supervisor disappears, even by SIGKILL (they watch their parent process).

On SQLite the workers' group-commit writers take turns on the database file (store/writer.py), so
the gain is in everything around the write: HTTP, parsing, checks, pricing and dispatch.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

import click

from smsgate.config import Settings

# How long a worker may take to open its listeners, and to stop after SIGTERM.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
# A worker that died within this long of its start is restarted after a pause that doubles.
FLAPPING_S = 10.0
MAX_PAUSE_S = 30.0


@dataclass(frozen=True, slots=True)
class Port:
    """A listener's port: its name in the banner, its setting's environment variable, its value."""

    name: str
    env: str
    port: int


def listener_ports(settings: Settings, names: frozenset[str]) -> list[Port]:
    """The ports the chosen listeners will bind, TLS ports included where configured."""
    ports: list[Port] = []
    if "http" in names:
        ports.append(Port("http", "SMSGATE_HTTP_PORT", settings.http.port))
        if settings.http.tls_port is not None:
            ports.append(Port("https", "SMSGATE_HTTP_TLS_PORT", settings.http.tls_port))
    if "smtp" in names:
        ports.append(Port("smtp", "SMSGATE_SMTP_PORT", settings.smtp.port))
        if settings.smtp.tls_port is not None:
            ports.append(Port("smtps", "SMSGATE_SMTP_TLS_PORT", settings.smtp.tls_port))
    if "smpp" in names:
        ports.append(Port("smpp", "SMSGATE_SMPP_PORT", settings.smpp.port))
        if settings.smpp.tls_port is not None:
            ports.append(Port("smpps", "SMSGATE_SMPP_TLS_PORT", settings.smpp.tls_port))
    return ports


@contextmanager
def reserved_ports(host: str, ports: Sequence[Port]) -> Iterator[dict[str, str]]:
    """Environment overrides giving every port-0 listener a concrete free port, reserved by a
    bound (not listening) SO_REUSEPORT socket for as long as the block runs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    held: list[socket.socket] = []
    overrides: dict[str, str] = {}
    try:
        for port in ports:
            if port.port != 0:
                continue
            sock = socket.socket(family, socket.SOCK_STREAM)
            held.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, 0))
            overrides[port.env] = str(sock.getsockname()[1])
        yield overrides
    finally:
        for sock in held:
            sock.close()


@dataclass(slots=True)
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    ready_fd: int  # read end of the pipe the worker reports readiness on; -1 once read or closed


@dataclass(slots=True)
class Supervisor:
    """Starts, watches and stops the worker processes."""

    command: list[str]
    env: dict[str, str]
    count: int
    node: str
    workers: list[_Worker] = field(default_factory=list)
    stopping: bool = False
    _pause: float = 1.0

    def start_all(self) -> None:
        self.workers = [self._start(i) for i in range(self.count)]

    def _start(self, index: int) -> _Worker:
        read_fd, write_fd = os.pipe()
        env = {
            **self.env,
            "SMSGATE_NODE_ID": f"{self.node}-w{index}",
            "SMSGATE_RUNTIME_WORKERS": "1",
            "SMSGATE_RUNTIME_REUSE_PORT": "1",
        }
        try:
            process = subprocess.Popen(  # noqa: S603 (our own command line)
                [*self.command, "--ready-fd", str(write_fd)], env=env, pass_fds=(write_fd,)
            )
        finally:
            os.close(write_fd)
        return _Worker(index, process, time.monotonic(), read_fd)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Return once every worker has reported that it listens; raise if one fails first."""
        deadline = time.monotonic() + timeout
        waiting = {w.ready_fd: w for w in self.workers if w.ready_fd >= 0}
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping:
                raise click.ClickException("the workers did not start in time")
            readable, _, _ = select.select(list(waiting), [], [], min(left, 0.5))
            for fd in readable:
                worker = waiting.pop(fd)
                reported = os.read(fd, 64)
                _close_ready(worker)
                if not reported:  # the pipe closed without a word: the worker exited
                    code = worker.process.wait()
                    raise click.ClickException(f"worker {worker.index} exited with code {code}")

    def watch(self) -> None:
        """Until asked to stop: start again any worker that exited."""
        while not self.stopping:
            for position, worker in enumerate(self.workers):
                code = worker.process.poll()
                if code is None or self.stopping:
                    continue
                _close_ready(worker)
                lived = time.monotonic() - worker.started
                click.echo(f"  worker {worker.index} exited with code {code}; starting it again")
                if lived < FLAPPING_S:
                    self._rest(self._pause)
                    self._pause = min(self._pause * 2, MAX_PAUSE_S)
                else:
                    self._pause = 1.0
                if not self.stopping:
                    self.workers[position] = self._start(worker.index)
            time.sleep(0.2)

    def _rest(self, seconds: float) -> None:
        # In short steps: a signal handler returning does not cut time.sleep short (PEP 475), and
        # SIGTERM must not wait out a pause of up to MAX_PAUSE_S.
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))

    def stop(self) -> int:
        """SIGTERM to every worker, SIGKILL to those still running after the grace period; the
        exit code for the supervisor (0 when every worker stopped cleanly)."""
        self.stopping = True
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        worst = 0
        for worker in self.workers:
            try:
                code = worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                code = worker.process.wait()
            _close_ready(worker)
            if code not in (0, -signal.SIGTERM):
                worst = 1
        return worst

    def request_stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True


def _close_ready(worker: _Worker) -> None:
    if worker.ready_fd >= 0:
        os.close(worker.ready_fd)
        worker.ready_fd = -1


def worker_command(config_path: str | None, only: str) -> list[str]:
    """``smsgate run`` for a worker, with the supervisor's configuration file."""
    config = ["--config", config_path] if config_path else []
    return [sys.executable, "-m", "smsgate", *config, "run", "--only", only]
