"""A submit_sm as a send request (protocols.md §3.4–3.6), and request errors as command_status (§6.2).

Everything here is a pure translation: the fields of the PDU become the same :class:`SendRequest` an
HTTP client would make, so prefixes, comments, test mode, pricing and validation are those of
send.php. What the spec refuses at the SMPP level (esm_class, priority_flag, data_coding, times,
both text fields) is refused here with its own status.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from smsgate.domain.codes import MessageType, RequestErrorCode
from smsgate.domain.sending import SendRequest
from smsgate.protocols.smpp.coding import Alphabet, TextCodingError, alphabet_of, decode_text
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.pdu import SubmitSm
from smsgate.protocols.smpp.reassembly import segment_of
from smsgate.protocols.smpp.smpp_time import schedule_delivery_time, validity_period
from smsgate.protocols.smpp.udh import Concatenation

MAX_TEXT = 1000
# esm_class bits 2–5: the message type; an ESME may only submit ordinary messages.
_MESSAGE_TYPE_BITS = 0x3C
_UDHI = 0x40
# data_coding values that are text in a single-byte character set (protocols.md §3.5).
_LATIN1 = frozenset({0x01, 0x03, 0x04})
_FLASH = frozenset({0x10, 0x18, 0xF0})
_BINARY = frozenset({0x02, 0xF4, 0xF5, 0xF6, 0xF7})
_MAX_VALID = timedelta(hours=24)
# Receipt request bits of registered_delivery that smsgate honours (§3.7).
RECEIPT_BITS = 0x13


@dataclass(frozen=True, slots=True)
class Submission:
    """What one submit_sm asks for. ``concat`` is set for one segment of a longer message, whose
    ``text`` is then only that segment's part."""

    request: SendRequest
    receipt: int
    concat: Concatenation | None
    fingerprint: str

    def reference(self, source: str, destination: str) -> str:
        """The key that the segments of one concatenated message share (§3.6)."""
        assert self.concat is not None
        c = self.concat
        return f"{source}|{destination}|{c.reference}|{c.total}"


def read_submit(pdu: SubmitSm, *, iso: bool, now: datetime) -> Submission:
    """The send request of ``pdu``; ``SmppError`` with the spec's status for what it refuses."""
    if pdu.esm_class & _MESSAGE_TYPE_BITS:
        raise SmppError(CommandStatus.ESME_RINVESMCLASS, f"esm_class 0x{pdu.esm_class:02X}")
    if pdu.priority_flag > 3:
        raise SmppError(CommandStatus.ESME_RINVPRTFLG, f"priority_flag {pdu.priority_flag}")
    if not pdu.destination_addr:
        raise SmppError(CommandStatus.ESME_RINVDSTADR, "empty destination_addr")
    segment = segment_of(pdu)
    msg_type, text, bin_hex = _text(pdu, segment.payload, segment.elements, iso=iso)
    if len(text) > MAX_TEXT:
        raise SmppError(CommandStatus.ESME_RINVMSGLEN, f"text of {len(text)} characters")
    scheduled = schedule_delivery_time(pdu.schedule_delivery_time, now)
    expires = validity_period(pdu.validity_period, now)
    request = SendRequest(
        phones=pdu.destination_addr,
        mes=text if bin_hex is None else _with_pid_dcs(bin_hex, pdu),
        sender=_sender(pdu.source_addr),
        msg_type=msg_type,
        bin_mode=2 if bin_hex is not None else 0,
        time=f"0{int(scheduled.timestamp())}" if scheduled is not None else "",
        valid=_valid(expires, scheduled or now),
    )
    return Submission(
        request=request,
        receipt=pdu.registered_delivery & RECEIPT_BITS,
        concat=segment.concat,
        fingerprint=fingerprint(pdu, text),
    )


def _with_pid_dcs(bin_hex: str, pdu: SubmitSm) -> str:
    """A binary message's TP-PID and DCS travel with it (§3.4, §3.5) as send.php's
    ``~~~ pid: X, dcs: Y`` setting carries them (protocols.md §1.4)."""
    return f"{bin_hex}\n~~~\npid: {pdu.protocol_id}, dcs: {pdu.data_coding}"


def fingerprint(pdu: SubmitSm, text: str) -> str:
    """What makes two submits identical (same source, destination, data_coding and text, §3.4)."""
    fields = ("smpp", pdu.source_addr, pdu.destination_addr, str(pdu.data_coding), text)
    return hashlib.sha256("\x1f".join(fields).encode("utf-8", "surrogatepass")).hexdigest()


def _text(
    pdu: SubmitSm, payload: bytes, elements: tuple[object, ...], *, iso: bool
) -> tuple[MessageType | None, str, str | None]:
    """(type, text, hex of a binary message's octets with its UDH) for ``data_coding``."""
    dcs = pdu.data_coding
    if dcs in _BINARY:
        udh = _udh_octets(pdu)
        return MessageType.BIN, "", (udh + payload).hex()
    msg_type = MessageType.FLASH if dcs in _FLASH else None
    if dcs in _LATIN1 or (dcs == 0x00 and iso):
        alphabet = Alphabet.LATIN1
    else:
        alphabet = alphabet_of(dcs)  # ESME_RINVDCS for what SMPP 3.4 does not define
        if alphabet is Alphabet.BINARY:
            raise SmppError(CommandStatus.ESME_RINVDCS, f"data_coding 0x{dcs:02X}")
    try:
        return msg_type, decode_text(payload, alphabet), None
    except TextCodingError as exc:
        raise SmppError(CommandStatus.ESME_RINVMSGLEN, str(exc)) from exc


def _udh_octets(pdu: SubmitSm) -> bytes:
    """The UDH as sent (with its length octet), or the ``00`` that means none (http-api bin=2)."""
    if not pdu.esm_class & _UDHI:
        return b"\x00"
    data = pdu.tlvs.message_payload or pdu.short_message
    return data[: 1 + data[0]] if data else b"\x00"


def _sender(source_addr: str) -> str | None:
    """Empty → the account default (None); ``.`` → no sender name; else the name itself."""
    return source_addr if source_addr else None


def _valid(expires: datetime | None, start: datetime) -> str | None:
    """``validity_period`` as send.php's ``valid`` (hh:mm from the send time, capped at 24 h)."""
    if expires is None:
        return None
    period = min(max(expires - start, timedelta(minutes=1)), _MAX_VALID)
    minutes = int(period.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# protocols.md §6.2: request errors of a single-recipient send as command_status.
_STATUS_BY_ERROR = {
    RequestErrorCode.PARAMETERS: CommandStatus.ESME_RSUBMITFAIL,
    RequestErrorCode.NO_MONEY: CommandStatus.ESME_RSUBMITFAIL,
    RequestErrorCode.INVALID_DATE: CommandStatus.ESME_RINVSCHED,
    RequestErrorCode.FORBIDDEN: CommandStatus.ESME_RSUBMITFAIL,
    RequestErrorCode.INVALID_PHONE: CommandStatus.ESME_RINVDSTADR,
    RequestErrorCode.CANNOT_DELIVER: CommandStatus.ESME_RSUBMITFAIL,
    RequestErrorCode.TOO_MANY: CommandStatus.ESME_RSUBMITFAIL,
}


def status_for(code: RequestErrorCode, detail: str) -> CommandStatus:
    """The command_status answering a refused send (error 6 for the sender → ESME_RINVSRCADR)."""
    if code is RequestErrorCode.FORBIDDEN and detail.startswith("sender"):
        return CommandStatus.ESME_RINVSRCADR
    return _STATUS_BY_ERROR.get(code, CommandStatus.ESME_RSUBMITFAIL)
