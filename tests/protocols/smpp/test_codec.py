"""encode_pdu / decode_pdu: round trips for every PDU, strict refusals, fuzzing (style.md §2.21)."""

from __future__ import annotations

import contextlib
import struct
from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu
from smsgate.protocols.smpp.constants import CommandId, CommandStatus
from smsgate.protocols.smpp.errors import SmppDecodeError, SmppEncodeError
from smsgate.protocols.smpp.pdu import (
    PDU_CLASSES,
    BindTransceiver,
    DeliverSm,
    GenericNack,
    Pdu,
    SubmitMulti,
    SubmitSm,
    SubmitSmResp,
    error_response,
)
from smsgate.protocols.smpp.tlv import TLV_SPECS, Tlvs
from tests.protocols.smpp.strategies import pdus

S = CommandStatus


def test_every_command_id_has_one_class() -> None:
    assert {cls.command_id for cls in PDU_CLASSES} == set(CommandId)


def test_tlv_fields_follow_the_spec_table() -> None:
    assert [f.name for f in fields(Tlvs)] == [spec.name for spec in TLV_SPECS] + ["unknown"]


@pytest.mark.parametrize("cls", PDU_CLASSES, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_round_trip(cls: type[Pdu], data: st.DataObject) -> None:
    pdu = data.draw(pdus(cls))
    encoded = encode_pdu(pdu)
    assert struct.unpack_from(">I", encoded)[0] == len(encoded)
    assert decode_pdu(encoded) == pdu
    assert encode_pdu(decode_pdu(encoded)) == encoded


@given(st.binary(max_size=400))
def test_random_bytes_raise_only_the_decode_error(data: bytes) -> None:
    with contextlib.suppress(SmppDecodeError):
        decode_pdu(data)


@given(st.sampled_from(PDU_CLASSES), st.binary(max_size=300))
def test_random_bodies_raise_only_the_decode_error(cls: type[Pdu], body: bytes) -> None:
    frame = struct.pack(">IIII", 16 + len(body), cls.command_id, 0, 9) + body
    try:
        decode_pdu(frame)
    except SmppDecodeError as exc:
        assert exc.sequence_number == 9
        assert exc.command_id == cls.command_id


@given(st.sampled_from(PDU_CLASSES), st.data())
def test_truncated_or_mutated_pdus_raise_only_the_decode_error(
    cls: type[Pdu], data: st.DataObject
) -> None:
    encoded = bytearray(encode_pdu(data.draw(pdus(cls))))
    cut = data.draw(st.integers(16, len(encoded)))
    frame = encoded[:cut]
    for _ in range(data.draw(st.integers(0, 4))):
        if len(frame) > 16:
            frame[data.draw(st.integers(16, len(frame) - 1))] = data.draw(st.integers(0, 255))
    struct.pack_into(">I", frame, 0, len(frame))
    with contextlib.suppress(SmppDecodeError):
        decode_pdu(bytes(frame))


def submit_sm_frame(body: bytes, sequence_number: int = 5) -> bytes:
    return struct.pack(">IIII", 16 + len(body), CommandId.SUBMIT_SM, 0, sequence_number) + body


def test_known_submit_sm_octets() -> None:
    pdu = SubmitSm(
        sequence_number=2,
        source_addr_ton=5,
        source_addr="smsgate",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="79161234567",
        registered_delivery=1,
        short_message=b"Hi",
    )
    expected = (
        bytes.fromhex("00000004 00000000 00000002".replace(" ", ""))
        + b"\x00"  # service_type
        + b"\x05\x00smsgate\x00"
        + b"\x01\x0179161234567\x00"
        + b"\x00\x00\x00"  # esm_class, protocol_id, priority_flag
        + b"\x00\x00"  # schedule, validity
        + b"\x01\x00\x00\x00"  # registered_delivery, replace, data_coding, sm_default_msg_id
        + b"\x02Hi"
    )
    assert encode_pdu(pdu) == struct.pack(">I", 4 + len(expected)) + expected


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\x00\x00\x00" + b"1" * 21 + b"\x00", S.ESME_RINVSRCADR),
        (b"toolong\x00", S.ESME_RINVSERTYP),
        (b"\x00\x00\x00src\x00\x01\x01", S.ESME_RINVCMDLEN),
        (b"\x00\x00\x00\x00\x00\x00" + b"9" * 21 + b"\x00", S.ESME_RINVDSTADR),
        (b"\x00" * 10 + b"12345\x00", S.ESME_RINVSCHED),
        (b"\x00" * 11 + b"12345\x00", S.ESME_RINVEXPIRY),
        (b"\x00" * 16 + b"\x05ab", S.ESME_RINVMSGLEN),
        (b"\x00" * 17 + b"\x02\x0c", S.ESME_RINVOPTPARSTREAM),
        (b"\x00" * 17 + b"\x02\x0c\x00\x03\x00\x01\x02", S.ESME_RINVPARLEN),
        (b"\x00" * 17 + b"\x04\x24\x00\x09ab", S.ESME_RINVOPTPARSTREAM),
        (b"\x00" * 17 + b"\x00\x1e\x00\x03a\x00b", S.ESME_RINVOPTPARAMVAL),
        (b"\x00" * 17 + b"\x02\x0e\x00\x01\x02" * 2, S.ESME_RINVOPTPARAMVAL),
    ],
)
def test_malformed_submit_sm_names_the_field_status(body: bytes, status: CommandStatus) -> None:
    with pytest.raises(SmppDecodeError) as caught:
        decode_pdu(submit_sm_frame(body))
    assert caught.value.status == status
    assert caught.value.sequence_number == 5
    assert caught.value.command_id == CommandId.SUBMIT_SM


def test_unknown_command_id() -> None:
    frame = struct.pack(">IIII", 16, 0x00000112, 0, 77)
    with pytest.raises(SmppDecodeError) as caught:
        decode_pdu(frame)
    assert (caught.value.status, caught.value.sequence_number) == (S.ESME_RINVCMDID, 77)


def test_receipted_message_id_without_nul_is_tolerated() -> None:
    body = b"\x00" * 17 + b"\x00\x1e\x00\x03abc"
    frame = struct.pack(">IIII", 16 + len(body), CommandId.DELIVER_SM, 0, 1) + body
    pdu = decode_pdu(frame)
    assert isinstance(pdu, DeliverSm)
    assert pdu.tlvs.receipted_message_id == "abc"


def test_failed_response_is_sent_without_body_and_read_back() -> None:
    failed = SubmitSmResp(sequence_number=3, command_status=S.ESME_RTHROTTLED)
    assert len(encode_pdu(failed)) == 16
    assert decode_pdu(encode_pdu(failed)) == failed
    assert error_response(SubmitSm(sequence_number=3), S.ESME_RTHROTTLED) == failed


def test_vendor_status_survives() -> None:
    nack = GenericNack(sequence_number=1, command_status=0x401)
    assert decode_pdu(encode_pdu(nack)).command_status == 0x401


def test_bind_credentials_up_to_64_octets() -> None:
    bind = BindTransceiver(sequence_number=1, system_id="a" * 64, password="p" * 64)
    assert decode_pdu(encode_pdu(bind)) == bind
    with pytest.raises(SmppEncodeError) as caught:
        encode_pdu(BindTransceiver(system_id="a" * 65))
    assert caught.value.status == S.ESME_RINVSYSID


@pytest.mark.parametrize(
    ("pdu", "status"),
    [
        (SubmitSm(source_addr="x" * 21), S.ESME_RINVSRCADR),
        (SubmitSm(destination_addr="Ω"), S.ESME_RINVDSTADR),
        (SubmitSm(short_message=b"x" * 255), S.ESME_RINVMSGLEN),
        (SubmitSm(schedule_delivery_time="2501"), S.ESME_RINVSCHED),
        (SubmitSm(esm_class=256), S.ESME_RINVCMDLEN),
        (SubmitSm(sequence_number=2**32), S.ESME_RINVCMDLEN),
        (SubmitSm(tlvs=Tlvs(sar_msg_ref_num=70000)), S.ESME_RINVOPTPARAMVAL),
        (SubmitSm(tlvs=Tlvs(receipted_message_id="x" * 65)), S.ESME_RINVPARLEN),
        (SubmitMulti(dest_addresses=()), S.ESME_RINVNUMDESTS),
    ],
)
def test_encoder_refuses_what_smpp_cannot_carry(pdu: Pdu, status: CommandStatus) -> None:
    with pytest.raises(SmppEncodeError) as caught:
        encode_pdu(pdu)
    assert caught.value.status == status
