"""PduFramer: frames from chunks of any size; out-of-range command_length breaks the stream."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppDecodeError, SmppFramingError
from smsgate.protocols.smpp.framer import PduFramer
from smsgate.protocols.smpp.pdu import EnquireLink, SubmitSm


def drain(framer: PduFramer) -> list[bytes]:
    frames = []
    while (frame := framer.next_frame()) is not None:
        frames.append(frame)
    return frames


@given(st.lists(st.integers(1, 50), min_size=1, max_size=40), st.integers(1, 400))
def test_any_chunking_yields_the_same_frames(lengths: list[int], chunk: int) -> None:
    pdus = [SubmitSm(sequence_number=i + 1, short_message=b"x" * n) for i, n in enumerate(lengths)]
    stream = b"".join(encode_pdu(p) for p in pdus)
    framer = PduFramer()
    frames: list[bytes] = []
    for start in range(0, len(stream), chunk):
        framer.feed(stream[start : start + chunk])
        frames.extend(drain(framer))
    assert [decode_pdu(f) for f in frames] == pdus
    assert framer.buffered == 0


@pytest.mark.parametrize("length", [0, 15, 65_537, 0xFFFFFFFF])
def test_command_length_out_of_bounds_breaks_the_stream(length: int) -> None:
    framer = PduFramer()
    framer.feed(struct.pack(">IIII", length, 4, 0, 42))
    with pytest.raises(SmppFramingError) as caught:
        framer.next_frame()
    assert caught.value.status == CommandStatus.ESME_RINVCMDLEN
    assert caught.value.sequence_number == 42
    with pytest.raises(SmppFramingError):
        framer.feed(encode_pdu(EnquireLink(sequence_number=1)))


def test_maximum_is_configurable() -> None:
    framer = PduFramer(max_command_length=100)
    framer.feed(encode_pdu(SubmitSm(short_message=b"x" * 200)))
    with pytest.raises(SmppFramingError):
        framer.next_frame()


def test_bad_frame_does_not_lose_the_next() -> None:
    framer = PduFramer()
    framer.feed(struct.pack(">IIII", 16, 0x1234, 0, 1) + encode_pdu(EnquireLink(sequence_number=2)))
    first, second = drain(framer)
    with pytest.raises(SmppDecodeError):
        decode_pdu(first)
    assert decode_pdu(second) == EnquireLink(sequence_number=2)


@given(st.binary(max_size=300))
def test_random_stream_raises_only_decode_errors(data: bytes) -> None:
    framer = PduFramer()
    try:
        framer.feed(data)
        for frame in drain(framer):
            with contextlib.suppress(SmppDecodeError):
                decode_pdu(frame)
    except SmppFramingError:
        pass
