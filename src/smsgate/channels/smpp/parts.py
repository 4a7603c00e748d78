"""One message as the submit_sm PDUs that carry it (SMPP 3.4 §4.4; protocols.md §3.5–3.6).

Text is encoded by the bind's :class:`Coding` policy: GSM-7 (data_coding ``gsm7_data_coding``, one
septet per octet, the SMSC packs) when every character fits, otherwise UCS-2 (0x08); ``latin1`` sends
data_coding 0x03 when the text is Latin-1. Flash messages (type 1) take the class-0 values 0x10 / 0x18.

A text that fits one SMS is one submit_sm. A longer one is split by the connector's
:class:`LongMessages` setting: ``udh`` and ``sar`` make one submit_sm per part (153 septets / 67
UCS-2 units / 134 Latin-1 octets each, never halving a character, as ``domain/segments.py`` counts
them), ``payload`` sends the whole text in ``message_payload``. Other message types (binary, HLR,
voice, e-mail …) and test-mode messages raise :class:`UnsupportedMessage`: an SMPP operator cannot
carry them and a test message must never reach one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from smsgate.channels.base import OutgoingMessage
from smsgate.channels.smpp.settings import BindSettings, Coding, ConnectorSettings, LongMessages
from smsgate.domain.codes import MessageType
from smsgate.domain.segments import Encoding, char_units, choose_encoding
from smsgate.protocols.smpp.coding import Alphabet, encode_text
from smsgate.protocols.smpp.constants import EsmClass
from smsgate.protocols.smpp.pdu import SubmitSm
from smsgate.protocols.smpp.tlv import Tlvs
from smsgate.protocols.smpp.udh import concat_udh

TEXT_TYPES = frozenset({MessageType.SMS, MessageType.FLASH})
UCS2_DATA_CODING = 0x08
LATIN1_DATA_CODING = 0x03
FLASH_GSM7, FLASH_UCS2 = 0x10, 0x18
LATIN1_SINGLE, LATIN1_PART = 140, 134


class UnsupportedMessage(ValueError):
    """This connector cannot carry the message (wrong type, test mode, unencodable text)."""


@dataclass(frozen=True, slots=True)
class _Coded:
    alphabet: Alphabet
    data_coding: int
    single: int  # units in one SMS
    part: int  # units per part of a long one
    encoding: Encoding  # how units are counted


def submit_pdus(
    message: OutgoingMessage, bind: BindSettings, connector: ConnectorSettings, reference: int
) -> list[SubmitSm]:
    """The submit_sm PDUs of ``message`` in part order; ``reference`` numbers its concatenation."""
    if message.test:
        raise UnsupportedMessage("test-mode messages are never sent upstream")
    if message.msg_type not in TEXT_TYPES:
        raise UnsupportedMessage(f"message type {message.msg_type} is not sent over SMPP")
    coded = _coding(message.text, bind, flash=message.msg_type == MessageType.FLASH)
    base = _base(message, bind, connector, coded.data_coding)
    text = message.text
    whole = encode_text(text, coded.alphabet)
    # Units from the octets: GSM-7 is unpacked (ESC + character for extensions), UCS-2 two a unit.
    if len(whole) // (2 if coded.alphabet is Alphabet.UCS2 else 1) <= coded.single:
        return [SubmitSm(**base, short_message=whole)]
    if connector.long_messages is LongMessages.PAYLOAD:
        return [SubmitSm(**base, tlvs=Tlvs(message_payload=whole))]
    chunks = [text[start:end] for start, end in _bounds(text, coded)]
    total = len(chunks)
    if total > 255:
        raise UnsupportedMessage(f"{total} parts: more than concatenation can number")
    pdus = []
    for seqnum, chunk in enumerate(chunks, start=1):
        octets = encode_text(chunk, coded.alphabet)
        if connector.long_messages is LongMessages.SAR:
            tlvs = Tlvs(
                sar_msg_ref_num=reference & 0xFFFF,
                sar_total_segments=total,
                sar_segment_seqnum=seqnum,
            )
            pdus.append(SubmitSm(**base, short_message=octets, tlvs=tlvs))
        else:
            header = concat_udh(reference & 0xFF, total, seqnum)
            pdus.append(
                SubmitSm(**{**base, "esm_class": EsmClass.UDHI}, short_message=header + octets)
            )
    return pdus


def _coding(text: str, bind: BindSettings, *, flash: bool) -> _Coded:
    gsm = choose_encoding(text) is Encoding.GSM7
    if bind.coding is Coding.AUTO and gsm:
        dc = FLASH_GSM7 if flash else bind.gsm7_data_coding
        return _Coded(Alphabet.GSM7, dc, 160, 153, Encoding.GSM7)
    if bind.coding is Coding.LATIN1 and not flash and _latin1(text):
        return _Coded(
            Alphabet.LATIN1, LATIN1_DATA_CODING, LATIN1_SINGLE, LATIN1_PART, Encoding.UCS2
        )
    dc = FLASH_UCS2 if flash else UCS2_DATA_CODING
    return _Coded(Alphabet.UCS2, dc, 70, 67, Encoding.UCS2)


def _latin1(text: str) -> bool:
    return all(ord(c) < 256 for c in text)


def _bounds(text: str, coded: _Coded) -> Iterator[tuple[int, int]]:
    """Greedy parts of at most ``coded.part`` units, whole characters (as domain/segments.py)."""
    start, used = 0, 0
    for index, char in enumerate(text):
        units = 1 if coded.alphabet is Alphabet.LATIN1 else char_units(char, coded.encoding)
        if used + units > coded.part:
            yield start, index
            start, used = index, 0
        used += units
    yield start, len(text)


def _base(
    message: OutgoingMessage, bind: BindSettings, connector: ConnectorSettings, data_coding: int
) -> dict[str, Any]:
    """The fields every part shares (built once: a frozen dataclass costs per construction)."""
    sender = message.sender or ""
    numeric = sender.lstrip("+").isdigit()
    return {
        "source_addr_ton": bind.numeric_source_ton if numeric else bind.source_ton,
        "source_addr_npi": bind.numeric_source_npi if numeric else bind.source_npi,
        "source_addr": sender.lstrip("+") if numeric else sender,
        "dest_addr_ton": bind.dest_ton,
        "dest_addr_npi": bind.dest_npi,
        "destination_addr": message.phone.lstrip("+"),
        "registered_delivery": connector.registered_delivery,
        "data_coding": data_coding,
    }
