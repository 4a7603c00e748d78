"""Benchmark: the SMPP codec and session layer (issue 5).

Measures, in one process on this machine:

1. encode and decode rates per PDU kind (submit_sm with a 160-character GSM-7 text, submit_sm_resp,
   a delivery receipt deliver_sm with TLVs, enquire_link), next to the ceiling of a bare
   ``struct.pack``/``unpack`` of the 16-octet header (nothing per-field can beat it);
2. a byte stream of submit_sm cut into 4 KB chunks through ``PduFramer`` + ``decode_pdu``;
3. submit_sm/s over a loopback TCP connection between an ESME ``SmppSession`` and an
   ``SmppListener`` whose handler answers at once, for a few window sizes (one process, both ends
   share the event loop, so this is a floor for either end alone).

    .venv/bin/python bench/smpp_codec.py
    .venv/bin/python bench/smpp_codec.py --seconds 2 --messages 50000
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import time
from collections.abc import Callable

from harness import describe_machine
from smsgate.clock import SystemClock
from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu
from smsgate.protocols.smpp.coding import Alphabet, encode_text
from smsgate.protocols.smpp.framer import PduFramer
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.listener import SmppListener
from smsgate.protocols.smpp.pdu import (
    Bind,
    BindResp,
    BindTransceiver,
    DeliverSm,
    EnquireLink,
    Pdu,
    SubmitSm,
    SubmitSmResp,
)
from smsgate.protocols.smpp.session import SessionSettings, SmppSession, open_session
from smsgate.protocols.smpp.tlv import NetworkErrorCode, Tlvs

SUBMIT = SubmitSm(
    sequence_number=12345,
    source_addr_ton=5,
    source_addr="smsgate",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="79161234567",
    registered_delivery=1,
    short_message=encode_text("Your code is 1234. " * 8 + "Thanks!!", Alphabet.GSM7)[:160],
)
SAMPLES: dict[str, Pdu] = {
    "submit_sm (160 chars)": SUBMIT,
    "submit_sm_resp": SubmitSmResp(sequence_number=12345, message_id="1000000001"),
    "deliver_sm receipt + 3 TLVs": DeliverSm(
        sequence_number=7,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="79161234567",
        destination_addr="smsgate",
        esm_class=4,
        short_message=b"id:1000000001 sub:001 dlvrd:001 submit date:2511241530 "
        b"done date:2511241531 stat:DELIVRD err:000 text:Your code is 1234. ",
        tlvs=Tlvs(
            receipted_message_id="1000000001",
            message_state=2,
            network_error_code=NetworkErrorCode(3, 0),
        ),
    ),
    "enquire_link": EnquireLink(sequence_number=1),
}


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``work`` over about ``seconds``."""
    batch, done, start = 1000, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(batch):
            work()
        done += batch
    return done / elapsed


def codec_rates(seconds: float) -> None:
    header = struct.Struct(">IIII")
    packed = header.pack(16, 0x15, 0, 1)
    print(f"{'PDU':32} {'encode/s':>12} {'decode/s':>12} {'octets':>7}")
    print(
        f"{'ceiling: bare 16-octet header':32} {rate(lambda: header.pack(16, 0x15, 0, 1), seconds):12,.0f}"
        f" {rate(lambda: header.unpack(packed), seconds):12,.0f} {16:7}"
    )
    for name, pdu in SAMPLES.items():
        encoded = encode_pdu(pdu)
        assert decode_pdu(encoded) == pdu
        encode_rate = rate(lambda pdu=pdu: encode_pdu(pdu), seconds)
        decode_rate = rate(lambda encoded=encoded: decode_pdu(encoded), seconds)
        print(f"{name:32} {encode_rate:12,.0f} {decode_rate:12,.0f} {len(encoded):7}")


def stream_rate(messages: int) -> None:
    stream = b"".join(
        encode_pdu(SubmitSm(sequence_number=n + 1, short_message=SUBMIT.short_message))
        for n in range(messages)
    )
    start = time.perf_counter()
    framer, decoded = PduFramer(), 0
    for offset in range(0, len(stream), 4096):
        framer.feed(stream[offset : offset + 4096])
        while (frame := framer.next_frame()) is not None:
            decode_pdu(frame)
            decoded += 1
    elapsed = time.perf_counter() - start
    print(
        f"\nframer + decode, 4 KB chunks: {decoded / elapsed:,.0f} submit_sm/s ({decoded:,} PDUs)"
    )


class Answering(BaseHandler):
    def __init__(self) -> None:
        self.count = 0

    async def handle_bind(self, session: SmppSession, pdu: Bind) -> BindResp:
        return pdu.resp(system_id="bench")

    async def handle_submit_sm(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp:
        self.count += 1
        return pdu.resp(message_id=str(self.count))


async def session_rate(messages: int, window: int) -> float:
    clock = SystemClock()
    settings = SessionSettings(window=window, inbound_window=max(window, 100))
    async with SmppListener(Answering, clock, settings=settings) as listener:
        session = await open_session(
            "127.0.0.1", listener.port, BaseHandler(), clock=clock, settings=settings
        )
        async with session:
            await session.bind(BindTransceiver(system_id="bench", password="x"))
            pending = iter(range(messages))

            async def sender() -> None:
                for _ in pending:
                    await session.submit_sm(SUBMIT)

            start = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(window)))
            return messages / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per codec measurement")
    parser.add_argument("--messages", type=int, default=20_000, help="per stream/session run")
    args = parser.parse_args()
    machine = describe_machine()
    print(
        f"{machine.cpu_model}, {machine.cores} cores, Python {machine.python}, {machine.commit}\n"
    )
    codec_rates(args.seconds)
    stream_rate(args.messages)
    print("\nsession over loopback TCP (ESME and SMSC in one event loop):")
    for window in (1, 10, 100):
        per_second = asyncio.run(session_rate(args.messages, window))
        print(f"  window {window:3}: {per_second:9,.0f} submit_sm/s")


if __name__ == "__main__":
    main()
