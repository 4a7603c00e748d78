"""A no-op ESME for ``bench/smpp.py simulator``: the SMSC simulator's own ceiling and latency.

It binds once, then keeps ``window`` submit_sm in flight with as little Python per message as can
be: one pre-encoded submit_sm whose sequence number is patched in, the responses found by their
header alone, every replacement for one read sent in one write. What it measures is therefore the
simulator (and the loopback), not a client: msg/s, and the time from each submit_sm's write to its
submit_sm_resp's read, whose excess over the simulated RTT is the latency the simulator adds.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass
from typing import cast

from smsgate.protocols.smpp.codec import encode_pdu
from smsgate.protocols.smpp.constants import CommandId
from smsgate.protocols.smpp.pdu import BindTransceiver, SubmitSm

_HEADER = struct.Struct(">IIII")
_SEQUENCE = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class NoopResult:
    rate: float  # submit_sm_resp per second
    latencies: list[float]  # seconds from each submit_sm's write to its response's read, sorted

    def percentile(self, share: float) -> float:
        return self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * share))]


class _NoopEsme(asyncio.Protocol):
    def __init__(self, window: int, count: int) -> None:
        loop = asyncio.get_running_loop()
        self.window, self.count = window, count
        self.bound: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[float] = loop.create_future()
        self.latencies: list[float] = []
        self._buffer = bytearray()
        self._sent = self._answered = 0
        self._sequence = 1
        self._sent_at: dict[int, float] = {}
        self._submit = bytearray(
            encode_pdu(
                SubmitSm(
                    source_addr="smsgate",
                    destination_addr="79161234567",
                    short_message=b"Your code is 1234",
                )
            )
        )
        self._transport: asyncio.Transport | None = None
        self._started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(encode_pdu(BindTransceiver(1, system_id="noop", password="noop")))

    def start(self) -> None:
        self._started = time.perf_counter()
        self._send(min(self.window, self.count))

    def _send(self, n: int) -> None:
        assert self._transport is not None
        now = time.perf_counter()
        chunks = []
        for _ in range(n):
            self._sequence += 1
            _SEQUENCE.pack_into(self._submit, 12, self._sequence)
            chunks.append(bytes(self._submit))
            self._sent_at[self._sequence] = now
        self._sent += n
        self._transport.write(b"".join(chunks))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self._buffer
        buffer += data
        pos = answered = 0
        while len(buffer) - pos >= 16:
            length, command_id, _, sequence = _HEADER.unpack_from(buffer, pos)
            if len(buffer) - pos < length:
                break
            pos += length
            if command_id == CommandId.BIND_TRANSCEIVER_RESP and not self.bound.done():
                self.bound.set_result(None)
            elif command_id == CommandId.SUBMIT_SM_RESP:
                answered += 1
                self.latencies.append(now - self._sent_at.pop(sequence))
        del buffer[:pos]
        if not answered:
            return
        self._answered += answered
        more = min(answered, self.count - self._sent)
        if more > 0:
            self._send(more)
        if self._answered >= self.count and not self.done.done():
            self.done.set_result(time.perf_counter() - self._started)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.bound, self.done):
            if not future.done():
                future.set_exception(ConnectionError("simulator closed the connection"))


async def run_noop(port: int, window: int, count: int) -> NoopResult:
    """``count`` submit_sm through one bind with ``window`` in flight."""
    loop = asyncio.get_running_loop()
    transport, esme = await loop.create_connection(
        lambda: _NoopEsme(window, count), "127.0.0.1", port
    )
    try:
        await esme.bound
        esme.start()
        elapsed = await esme.done
    finally:
        transport.close()
    return NoopResult(count / elapsed, sorted(esme.latencies))
