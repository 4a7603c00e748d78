"""MO PDUs as our SMPP server and the simulator write them (protocols/smpp/mo.py), read back by the
connector (channels/smpp/mo.py): GSM-7, Latin-1, UCS-2, concatenated, alphanumeric senders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.channels.smpp.mo import NotText, incoming_part
from smsgate.protocols.smpp.codec import decode_pdu, encode_pdu
from smsgate.protocols.smpp.mo import mo_pdus
from smsgate.protocols.smpp.pdu import DataSm, DeliverSm
from smsgate.protocols.smpp.tlv import Tlvs


def read_back(source: str, destination: str, text: str) -> list[tuple[str, str, str, int, int]]:
    parts = []
    for pdu in mo_pdus(source, destination, text, 300):
        decoded = decode_pdu(encode_pdu(pdu))
        assert isinstance(decoded, DeliverSm)
        part = incoming_part(decoded)
        parts.append((part.phone, part.to_phone, part.text, part.total, part.seq))
    return parts


@pytest.mark.parametrize(
    ("text", "data_coding", "total"),
    [
        ("Hello {world}", 0, 1),
        ("x" * 160, 0, 1),
        ("x" * 161, 0, 2),
        ("Привет", 8, 1),
        ("я" * 71, 8, 2),
        ("emoji 😀 " * 20, 8, 3),
    ],
)
def test_round_trip(text: str, data_coding: int, total: int) -> None:
    pdus = mo_pdus("+79161234567", "79990000001", text, 300)
    assert len(pdus) == total
    assert {p.data_coding for p in pdus} == {data_coding}
    assert {p.esm_class for p in pdus} == ({0x40} if total > 1 else {0})
    parts = read_back("+79161234567", "79990000001", text)
    assert "".join(p[2] for p in parts) == text
    assert [(p[3], p[4]) for p in parts] == [(total, n) for n in range(1, total + 1)]
    assert {p[:2] for p in parts} == {("79161234567", "79990000001")}


def test_alphanumeric_sender_is_ton_5() -> None:
    (pdu,) = mo_pdus("Bank", "79990000001", "hi", 1)
    assert (pdu.source_addr_ton, pdu.source_addr_npi, pdu.dest_addr_ton) == (5, 0, 1)


def test_latin1_data_sm_with_payload() -> None:
    pdu = DataSm(
        source_addr="79161234567",
        destination_addr="79990000001",
        data_coding=3,
        tlvs=Tlvs(message_payload="café".encode("latin-1")),
    )
    assert incoming_part(pdu).text == "café"


@pytest.mark.parametrize(
    "pdu",
    [
        DeliverSm(source_addr="1", destination_addr="2", data_coding=4, short_message=b"\x01"),
        DeliverSm(source_addr="1", destination_addr="2", data_coding=8, short_message=b"\x04"),
        DeliverSm(source_addr="1", destination_addr="2", esm_class=0x40, short_message=b"\x09"),
        DeliverSm(source_addr="", destination_addr="2", short_message=b"hi"),
    ],
)
def test_unreadable(pdu: DeliverSm) -> None:
    with pytest.raises(NotText):
        incoming_part(pdu)


@given(st.text(max_size=400))
def test_any_text_round_trips(text: str) -> None:
    assert "".join(p[2] for p in read_back("79161234567", "79990000001", text)) == text
