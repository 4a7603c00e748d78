"""An incoming message (MO) as the deliver_sm PDUs that carry it to an ESME (protocols.md §3.8).

``esm_class`` 0x00 (0x40 with UDH); ``source_addr`` the sender (TON 1 / NPI 1 for a number, 5 / 0
for an alphanumeric name), ``destination_addr`` the receiving number (1 / 1); ``data_coding`` 0 when
GSM-7 fits (one septet per octet, unpacked), else 8 (UCS-2). A text longer than one SMS goes as
concatenated parts with an 8-bit-reference UDH (IEI 0x00), split where ``domain/segments.py`` splits
(153 septets / 67 UCS-2 units a part, never halving a character).
"""

from __future__ import annotations

from smsgate.domain.segments import split_parts
from smsgate.protocols.smpp.coding import Alphabet, best_alphabet, encode_text
from smsgate.protocols.smpp.constants import EsmClass
from smsgate.protocols.smpp.pdu import DeliverSm
from smsgate.protocols.smpp.udh import concat_udh

GSM7_DATA_CODING = 0x00
UCS2_DATA_CODING = 0x08


def address_type(address: str) -> tuple[int, int]:
    """(TON, NPI) of an address: international number (1/1) or alphanumeric (5/0)."""
    return (1, 1) if address.lstrip("+").isdigit() else (5, 0)


def mo_pdus(source: str, destination: str, text: str, reference: int) -> list[DeliverSm]:
    """The deliver_sm PDUs of one incoming message, in part order; ``reference`` (its low 8 bits)
    numbers the concatenation of a long one."""
    alphabet = best_alphabet(text)
    data_coding = GSM7_DATA_CODING if alphabet is Alphabet.GSM7 else UCS2_DATA_CODING
    source_ton, source_npi = address_type(source)
    dest_ton, dest_npi = address_type(destination)
    parts = split_parts(text)
    total = len(parts)
    if total > 255:
        raise ValueError(f"{total} parts: more than concatenation can number")
    pdus = []
    for seqnum, part in enumerate(parts, start=1):
        octets = encode_text(part, alphabet)
        if total > 1:
            octets = concat_udh(reference & 0xFF, total, seqnum) + octets
        pdus.append(
            DeliverSm(
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                source_addr=source.lstrip("+"),
                dest_addr_ton=dest_ton,
                dest_addr_npi=dest_npi,
                destination_addr=destination.lstrip("+"),
                esm_class=EsmClass.UDHI if total > 1 else 0,
                data_coding=data_coding,
                short_message=octets,
            )
        )
    return pdus
