"""A small HTTP/1.1 load generator for the benchmarks in ``bench/``; it runs in a process of its own.

Reads one scenario as JSON on stdin, runs it against ``127.0.0.1`` (and nowhere else), and writes
its result as JSON on stdout::

    echo '{"port": 8000, "mode": "closed", "connections": 32, "duration_s": 5,
           "request": {"kind": "get", "path": "/health"}}' | python bench/loadgen.py

Each connection is a keep-alive HTTP/1.1 connection that sends one request, reads the response by
its Content-Length and sends the next; there is no pipelining. Two modes:

* ``closed``: every connection sends its next request as soon as the previous answer arrived; the
  figure is the throughput.
* ``open``: requests are scheduled at a fixed ``rate`` and handed to the first idle connection;
  latency is measured from the *scheduled* time, so a stalled server is charged for the requests
  that queued behind it (no coordinated omission).

Only completions inside the measured window (after ``warmup_s``) count. Request kinds:

* ``get``: ``GET <path>``; any HTTP 200 is a success.
* ``send``: ``POST /sys/send.php`` with ``fmt=3``, a text unique per request (the API refuses a
  second identical send within 60 s) and ``phones_per_request`` distinct numbers from
  ``first_number`` on. ``{"id": …, "cnt": N}`` is N accepted messages; an ``error_code`` is counted
  per code.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast
from urllib.parse import quote_plus

import uvloop

HOST = "127.0.0.1"  # the only address this tool ever connects to
_HEAD_END = b"\r\n\r\n"

Outcome = tuple[bool, int, str]  # success, messages accepted, error label ("" on success)


class HttpError(Exception):
    """The connection failed or sent something that is not an HTTP/1.1 response."""


class HttpTimeout(HttpError):
    """No complete response within the scenario's ``timeout_s``."""


class HttpConnection(asyncio.Protocol):
    """One keep-alive client connection: one request at a time, response framed by Content-Length."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpError(f"connection lost: {exc or 'closed by server'}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        head_end = self._buffer.find(_HEAD_END)
        if head_end < 0:
            return
        try:
            status, length, close = _parse_head(bytes(self._buffer[:head_end]))
        except ValueError as exc:
            self._fail(HttpError(str(exc)))
            self.close()
            return
        body_start = head_end + len(_HEAD_END)
        if len(self._buffer) < body_start + length:
            return
        body = bytes(self._buffer[body_start : body_start + length])
        del self._buffer[: body_start + length]
        if close:
            self.close()
        self._cancel_timer()
        self._waiter.set_result((status, body))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one request and return (status, body); HttpError on failure or timeout."""
        if self.closed or self._transport is None:
            raise HttpError("connection closed")
        self._waiter = self._loop.create_future()
        self._timer = self._loop.call_later(self._timeout_s, self._timed_out)
        self._transport.write(data)
        return await self._waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _timed_out(self) -> None:
        self._fail(HttpTimeout("timeout"))
        self.close()

    def _fail(self, exc: HttpError) -> None:
        self._cancel_timer()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server closes the connection after this response."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.") or len(lines[0]) < 12:
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:40]!r}")
    status = int(lines[0][9:12])
    length: int | None = None
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding":
            raise ValueError("chunked responses are not supported by this load generator")
    if length is None:
        raise ValueError("response without Content-Length")
    return status, length, close


@dataclass(frozen=True, slots=True)
class RequestSpec:
    kind: str  # "get" or "send"
    path: str = "/health"
    login: str = ""
    psw: str = ""
    phones_per_request: int = 1
    first_number: int = 79160000000
    number_span: int = 1_000_000
    tag: str = "bench"


@dataclass(frozen=True, slots=True)
class Scenario:
    port: int
    mode: str  # "closed" or "open"
    connections: int
    duration_s: float
    request: RequestSpec
    warmup_s: float = 1.0
    rate: float = 0.0  # requests per second, open mode only
    timeout_s: float = 10.0


@dataclass(slots=True)
class Result:
    requests: int = 0  # completed (successfully or not) inside the measured window
    completed_total: int = 0  # completed at any time, warm-up included
    ok: int = 0
    messages: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    window_s: float = 0.0
    cpu_s: float = 0.0
    scheduled: int = 0  # open mode: requests scheduled inside the measured window
    unfinished: int = 0  # open mode: scheduled but not answered when the run ended
    max_dispatch_lag_ms: float = 0.0  # open mode: worst delay between schedule and hand-over

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.window_s if self.window_s else 0.0


class Recorder:
    """Counts outcomes and latencies of the requests that finish inside the measured window."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.ok = 0
        self.messages = 0
        self.completed_total = 0

    def record(self, outcome: Outcome, latency_s: float) -> None:
        success, messages, label = outcome
        self.latencies.append(latency_s)
        if success:
            self.ok += 1
            self.messages += messages
        else:
            self.errors[label] += 1

    def result(self, window_s: float) -> Result:
        return Result(
            requests=len(self.latencies),
            ok=self.ok,
            messages=self.messages,
            errors=dict(self.errors.most_common()),
            latency_ms=percentiles_ms(self.latencies),
            window_s=window_s,
            completed_total=self.completed_total,
        )


def percentiles_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max in milliseconds (nearest rank); empty for no samples."""
    if not samples:
        return {}
    ordered = sorted(samples)
    last = len(ordered) - 1

    def rank(q: float) -> float:
        return ordered[min(last, int(q * len(ordered)))] * 1000.0

    return {
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "p99.9": rank(0.999),
        "max": ordered[last] * 1000.0,
    }


def build_request(spec: RequestSpec, port: int) -> Callable[[int], bytes]:
    """A function from the request's index to its bytes."""
    host = f"Host: {HOST}:{port}\r\n"
    if spec.kind == "get":
        data = f"GET {spec.path} HTTP/1.1\r\n{host}\r\n".encode("ascii")
        return lambda _index: data
    if spec.kind != "send":
        raise ValueError(f"unknown request kind {spec.kind!r}")
    head = f"POST /sys/send.php HTTP/1.1\r\n{host}"
    head += "Content-Type: application/x-www-form-urlencoded\r\n"
    prefix = f"login={quote_plus(spec.login)}&psw={quote_plus(spec.psw)}&fmt=3&phones="
    count, first, span = spec.phones_per_request, spec.first_number, spec.number_span

    def send(index: int) -> bytes:
        start = index * count
        # %2C, as PHP's urlencode() in the official client library writes the commas.
        phones = "%2C".join(str(first + (start + j) % span) for j in range(count))
        body = f"{prefix}{phones}&mes=bench+{spec.tag}+{index}".encode("ascii")
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body

    return send


def classify(kind: str, status: int, body: bytes) -> Outcome:
    if status != 200:
        return False, 0, f"HTTP {status}"
    if kind != "send":
        return True, 0, ""
    try:
        reply: Any = json.loads(body)
    except ValueError:
        return False, 0, f"not JSON: {body[:60]!r}"
    if not isinstance(reply, dict):
        return False, 0, f"unexpected reply: {body[:60]!r}"
    if "error_code" in reply:
        return False, 0, f"error {reply['error_code']} ({reply.get('error', '')})"
    cnt = reply.get("cnt")
    if not isinstance(cnt, int):
        return False, 0, f"unexpected reply: {body[:60]!r}"
    return True, cnt, ""


class Client:
    """Opens connections to the server under test and sends one scenario's requests."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.make = build_request(scenario.request, scenario.port)
        self.loop = asyncio.get_running_loop()

    async def connect(self) -> HttpConnection:
        timeout = self.scenario.timeout_s

        def factory() -> HttpConnection:
            return HttpConnection(timeout)

        _, protocol = await self.loop.create_connection(factory, HOST, self.scenario.port)
        return protocol

    async def exchange(
        self, conn: HttpConnection | None, index: int
    ) -> tuple[HttpConnection | None, Outcome]:
        """Send request ``index`` on ``conn`` (reconnecting if needed) and classify the answer."""
        try:
            if conn is None or conn.closed:
                conn = None
                conn = await self.connect()
            status, body = await conn.request(self.make(index))
        except HttpTimeout:
            return conn, (False, 0, "timeout")
        except (HttpError, OSError) as exc:
            if conn is not None:
                conn.close()
            await asyncio.sleep(0.01)  # a refused or broken connection: do not spin
            return conn, (False, 0, f"connection: {exc}")
        return conn, classify(self.scenario.request.kind, status, body)


# Timestamps come from time.perf_counter(): uvloop's loop.time() only has millisecond resolution.
now = time.perf_counter


async def run_closed(scenario: Scenario) -> Result:
    client = Client(scenario)
    recorder = Recorder()
    counter = itertools.count()
    measure_from = now() + scenario.warmup_s
    end = measure_from + scenario.duration_s

    async def worker() -> None:
        conn: HttpConnection | None = None
        while (sent := now()) < end:
            conn, outcome = await client.exchange(conn, next(counter))
            done = now()
            recorder.completed_total += 1
            if measure_from <= done <= end:
                recorder.record(outcome, done - sent)
        if conn is not None:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(scenario.connections)))
    return recorder.result(scenario.duration_s)


async def run_open(scenario: Scenario) -> Result:
    """Requests at fixed times; a request waits for an idle connection, and that wait counts."""
    if scenario.rate <= 0:
        raise ValueError("open mode needs a positive rate")
    client = Client(scenario)
    recorder = Recorder()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    start = now() + 0.05
    measure_from = start + scenario.warmup_s
    total = int((scenario.warmup_s + scenario.duration_s) * scenario.rate)
    interval = 1.0 / scenario.rate
    lag = [0.0]
    last_done = [measure_from]

    async def producer() -> None:
        index = 0
        while index < total:
            current = now()
            while index < total and start + index * interval <= current:
                queue.put_nowait((index, start + index * interval))
                index += 1
            await asyncio.sleep(max(0.0, start + index * interval - now()))
        for _ in range(scenario.connections):
            queue.put_nowait(None)

    async def worker() -> None:
        conn: HttpConnection | None = None
        while (item := await queue.get()) is not None:
            index, scheduled = item
            lag[0] = max(lag[0], now() - scheduled)
            conn, outcome = await client.exchange(conn, index)
            recorder.completed_total += 1
            if scheduled >= measure_from:
                last_done[0] = done = now()
                recorder.record(outcome, done - scheduled)
        if conn is not None:
            conn.close()

    tasks = [asyncio.ensure_future(worker()) for _ in range(scenario.connections)]
    tasks.append(asyncio.ensure_future(producer()))
    drain_s = scenario.warmup_s + scenario.duration_s + scenario.timeout_s + 1.0
    _, pending = await asyncio.wait(tasks, timeout=drain_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    # Throughput over the time it took to answer the measured requests: when the server cannot
    # keep up, that is longer than the scheduled window and the rate falls below the offered one.
    result = recorder.result(max(scenario.duration_s, last_done[0] - measure_from))
    result.scheduled = total - int(scenario.warmup_s * scenario.rate)
    result.unfinished = max(0, result.scheduled - result.requests)
    result.max_dispatch_lag_ms = lag[0] * 1000.0
    return result


def parse_scenario(data: dict[str, Any]) -> Scenario:
    request = RequestSpec(**data.pop("request"))
    scenario = Scenario(request=request, **data)
    if scenario.mode not in ("closed", "open"):
        raise ValueError(f"unknown mode {scenario.mode!r}")
    if scenario.connections < 1 or scenario.duration_s <= 0:
        raise ValueError("connections and duration_s must be positive")
    return scenario


async def run(scenario: Scenario) -> Result:
    cpu_before = time.process_time()
    if scenario.mode == "closed":
        result = await run_closed(scenario)
    else:
        result = await run_open(scenario)
    result.cpu_s = time.process_time() - cpu_before
    return result


def main() -> int:
    try:
        scenario = parse_scenario(json.load(sys.stdin))
    except (ValueError, TypeError, KeyError) as exc:
        print(f"loadgen: bad scenario: {exc}", file=sys.stderr)
        return 2
    try:
        result = uvloop.run(run(scenario))
    except KeyboardInterrupt:
        return 130
    with contextlib.suppress(BrokenPipeError):
        json.dump(asdict(result), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
