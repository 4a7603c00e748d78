"""Incoming messages (MO) from an operator's deliver_sm or data_sm: a PDU that is not a receipt.

The text is decoded by data_coding (0 GSM 03.38 unpacked, 1/3 Latin-1, 8 UCS-2, and the TS 23.038
groups that resolve to them, ``protocols/smpp/coding.py``); a part of a concatenated message is
recognised by its UDH (IEI 0x00/0x08) or SAR TLVs and carries its reference, total and number, to be
reassembled durably by the receiver (``services/incoming.py``). A binary message, or one that does
not decode, raises :class:`NotText`.
"""

from __future__ import annotations

from smsgate.domain.inbound import IncomingPart
from smsgate.protocols.smpp.coding import Alphabet, alphabet_of, decode_text
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.pdu import DataSm, DeliverSm
from smsgate.protocols.smpp.reassembly import segment_of


class NotText(ValueError):
    """An MO message that carries no readable text."""


def incoming_part(pdu: DeliverSm | DataSm) -> IncomingPart:
    """The incoming SMS (or part) ``pdu`` carries; :class:`NotText` when it cannot be read."""
    try:
        segment = segment_of(pdu)
        alphabet = alphabet_of(pdu.data_coding)
        if alphabet is Alphabet.BINARY:
            raise NotText(f"binary message (data_coding 0x{pdu.data_coding:02X})")
        text = decode_text(segment.payload, alphabet)
    except SmppError as exc:
        raise NotText(str(exc)) from exc
    if not pdu.source_addr or not pdu.destination_addr:
        raise NotText("no source or destination address")
    concat = segment.concat
    if concat is None or concat.total == 1:
        return IncomingPart(pdu.source_addr, pdu.destination_addr, text)
    return IncomingPart(
        pdu.source_addr,
        pdu.destination_addr,
        text,
        reference=concat.reference,
        total=concat.total,
        seq=concat.seqnum,
    )
