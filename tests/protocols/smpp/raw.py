"""A raw SMPP peer for tests: writes any octets, reads whole PDUs, with a bound on every wait."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from smsgate.clock import Clock
from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu
from smsgate.protocols.smpp.framer import PduFramer
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.pdu import BindTransceiver, BindTransceiverResp, Pdu
from smsgate.protocols.smpp.session import SessionSettings, SmppSession, open_session

WAIT_S = 5.0  # a bound on waits for the peer, never a pause


class RawPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = PduFramer()

    @classmethod
    async def connect(cls, port: int) -> RawPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def __aenter__(self) -> RawPeer:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def send(self, pdu: Pdu | bytes) -> None:
        self.writer.write(pdu if isinstance(pdu, bytes) else encode_pdu(pdu))
        await self.writer.drain()

    async def next_pdu(self) -> Pdu:
        while (frame := self.framer.next_frame()) is None:
            data = await asyncio.wait_for(self.reader.read(65536), WAIT_S)
            if not data:
                raise EOFError("peer closed the connection")
            self.framer.feed(data)
        return decode_pdu(frame)

    async def closed_by_peer(self) -> bool:
        """True once the other end closes (after any PDUs still on the way)."""
        try:
            while True:
                await self.next_pdu()
        except (EOFError, ConnectionError):
            return True


async def serve_raw(
    on_connect: asyncio.Queue[RawPeer],
) -> asyncio.Server:
    """A listener on 127.0.0.1:0 that hands each accepted connection to the test as a RawPeer."""

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await on_connect.put(RawPeer(reader, writer))

    return await asyncio.start_server(accept, "127.0.0.1", 0)


RawSmsc = tuple[int, asyncio.Queue[RawPeer]]
"""The ``raw_smsc`` fixture (conftest.py): its port and the connections it accepted."""


async def connected_client(raw_smsc: RawSmsc, clock: Clock) -> tuple[SmppSession, RawPeer]:
    """Our ESME session bound (transceiver) to the raw SMSC, and that SMSC's end of it."""
    port, accepted = raw_smsc
    settings = SessionSettings(enquire_link_interval_s=0, idle_timeout_s=0)
    session = await open_session("127.0.0.1", port, BaseHandler(), clock=clock, settings=settings)
    smsc = await asyncio.wait_for(accepted.get(), WAIT_S)
    binding = asyncio.ensure_future(session.bind(BindTransceiver(system_id="me")))
    request = await smsc.next_pdu()
    await smsc.send(BindTransceiverResp(request.sequence_number, system_id="raw"))
    await binding
    return session, smsc
