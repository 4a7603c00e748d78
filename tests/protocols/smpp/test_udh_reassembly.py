"""UDH concatenation, SAR parameters and the bounded reassembler."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.protocols.smpp.constants import CommandStatus, EsmClass
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.pdu import DataSm, SubmitSm
from smsgate.protocols.smpp.reassembly import Reassembler, segment_of
from smsgate.protocols.smpp.tlv import Tlvs
from smsgate.protocols.smpp.udh import (
    Concatenation,
    InformationElement,
    build_udh,
    concat_udh,
    concatenation,
    split_udh,
)

UDHI = EsmClass.UDHI


def test_known_headers() -> None:
    assert concat_udh(0x42, 3, 1) == bytes.fromhex("050003420301")
    assert concat_udh(0x1234, 3, 2, wide=True) == bytes.fromhex("06080412340302")


@given(st.integers(0, 0xFFFF), st.integers(1, 255), st.data(), st.binary(max_size=100))
def test_concatenation_round_trip(
    reference: int, total: int, data: st.DataObject, payload: bytes
) -> None:
    seqnum = data.draw(st.integers(1, total))
    wide = reference > 0xFF or data.draw(st.booleans())
    elements, rest = split_udh(concat_udh(reference, total, seqnum, wide=wide) + payload)
    assert rest == payload
    assert concatenation(elements) == Concatenation(reference, total, seqnum, wide)


@pytest.mark.parametrize(
    "message",
    [b"", b"\x05\x00\x03\x01", b"\x03\x00\x03\x01", b"\x05\x00\x03\x01\x02\x03", b"\x01\x00"],
)
def test_broken_headers(message: bytes) -> None:
    with pytest.raises(SmppError) as caught:
        elements, _ = split_udh(message)
        concatenation(elements)
    assert caught.value.status == CommandStatus.ESME_RINVMSGLEN


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=10)), max_size=5))
def test_build_and_split(pairs: list[tuple[int, bytes]]) -> None:
    elements = tuple(InformationElement(iei, data) for iei, data in pairs)
    assert split_udh(build_udh(elements) + b"tail") == (elements, b"tail")


def test_segment_from_udh_sar_and_payload() -> None:
    udh = SubmitSm(esm_class=UDHI, short_message=concat_udh(7, 2, 1) + b"abc")
    assert segment_of(udh).concat == Concatenation(7, 2, 1)
    assert segment_of(udh).payload == b"abc"
    sar = DataSm(
        tlvs=Tlvs(
            message_payload=b"xyz", sar_msg_ref_num=300, sar_total_segments=2, sar_segment_seqnum=2
        )
    )
    assert segment_of(sar).concat == Concatenation(300, 2, 2, wide=True)
    assert segment_of(SubmitSm(short_message=b"plain")).concat is None


@pytest.mark.parametrize(
    ("pdu", "status"),
    [
        (
            SubmitSm(short_message=b"a", tlvs=Tlvs(message_payload=b"b")),
            CommandStatus.ESME_RINVMSGLEN,
        ),
        (SubmitSm(tlvs=Tlvs(sar_msg_ref_num=1)), CommandStatus.ESME_RINVOPTPARAMVAL),
        (
            SubmitSm(tlvs=Tlvs(sar_msg_ref_num=1, sar_total_segments=2, sar_segment_seqnum=3)),
            CommandStatus.ESME_RINVOPTPARAMVAL,
        ),
    ],
)
def test_segment_refusals(pdu: SubmitSm, status: CommandStatus) -> None:
    with pytest.raises(SmppError) as caught:
        segment_of(pdu)
    assert caught.value.status == status


@given(st.permutations(range(1, 6)))
def test_parts_complete_in_any_order(order: list[int]) -> None:
    reassembler: Reassembler[bytes] = Reassembler(timeout_s=300)
    results = [reassembler.add("k", Concatenation(9, 5, n), str(n).encode(), now=0) for n in order]
    assert results[0].first
    assert all(r.parts is None for r in results[:-1])
    assert results[-1].parts == (b"1", b"2", b"3", b"4", b"5")
    assert len(reassembler) == 0


def test_duplicates_are_ignored_and_keys_separate() -> None:
    reassembler: Reassembler[str] = Reassembler()
    assert reassembler.add("a", Concatenation(1, 2, 1), "x", 0).first
    assert reassembler.add("a", Concatenation(1, 2, 1), "y", 0).duplicate
    assert reassembler.add("b", Concatenation(1, 2, 2), "z", 0).first
    assert reassembler.add("a", Concatenation(1, 2, 2), "w", 0).parts == ("x", "w")


def test_timeout_and_bound() -> None:
    reassembler: Reassembler[str] = Reassembler(timeout_s=300, max_pending=2)
    reassembler.add("a", Concatenation(1, 2, 1), "a1", now=0)
    reassembler.add("b", Concatenation(1, 2, 1), "b1", now=100)
    with pytest.raises(SmppError) as caught:
        reassembler.add("c", Concatenation(1, 2, 1), "c1", now=200)
    assert caught.value.status == CommandStatus.ESME_RMSGQFUL
    assert reassembler.add("c", Concatenation(1, 2, 1), "c1", now=300).first  # "a" expired
    expired = reassembler.expire(now=400)
    assert [(e.key, e.parts) for e in expired] == [("b", {1: "b1"})]
    assert len(reassembler) == 1
