"""Delivery receipts as deliver_sm (protocols.md §3.7, codes.md §6.3): which status changes get one,
and the PDU that carries it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo

from smsgate.domain.codes import MessageType
from smsgate.domain.translit import translit
from smsgate.protocols.smpp.constants import MessageState
from smsgate.protocols.smpp.dlr import DeliveryReceipt, format_receipt
from smsgate.protocols.smpp.pdu import DeliverSm
from smsgate.protocols.smpp.tlv import NetworkErrorCode, Tlvs
from smsgate.store.repos.smpp import ReceiptEvent

# status → (stat, message_state); -1 has no receipt, 0 only the intermediate one.
_STATES: dict[int, tuple[str, MessageState]] = {
    0: ("ACCEPTD", MessageState.ENROUTE),
    1: ("DELIVRD", MessageState.DELIVERED),
    2: ("DELIVRD", MessageState.DELIVERED),
    3: ("EXPIRED", MessageState.EXPIRED),
    4: ("DELIVRD", MessageState.DELIVERED),
    -2: ("DELETED", MessageState.DELETED),
    20: ("UNDELIV", MessageState.UNDELIVERABLE),
    25: ("UNDELIV", MessageState.UNDELIVERABLE),
    22: ("REJECTD", MessageState.REJECTED),
    23: ("REJECTD", MessageState.REJECTED),
    24: ("REJECTD", MessageState.REJECTED),
}
# "Final" is the first of these; later moves to 2 (read) or 4 (clicked) produce no receipt.
_FINAL = frozenset({1, 3, 20, 22, 23, 24, 25, -2})
_SUCCESS = frozenset({1})
_INTERMEDIATE = 0x10
_HLR_FIELDS = ("imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet")
_TEXT_CHARS = 20


def state_of(status: int) -> MessageState:
    """message_state for query_sm: -1 and 0 are ENROUTE."""
    return _STATES[status][1] if status in _STATES and status != 0 else MessageState.ENROUTE


def wants_receipt(registered_delivery: int, status: int) -> bool:
    """Whether this status change gets a receipt under ``registered_delivery`` (§3.7)."""
    if status == 0:
        return bool(registered_delivery & _INTERMEDIATE)
    if status not in _FINAL:
        return False
    match registered_delivery & 0x03:  # SMSC delivery receipt bits
        case 1:
            return True
        case 2:
            return status not in _SUCCESS
        case 3:
            return status in _SUCCESS
        case _:
            return False


def receipt_pdu(event: ReceiptEvent, zone: tzinfo) -> DeliverSm:
    """The deliver_sm of ``event``: from the original destination to the original source."""
    stat, state = _STATES[event.status]
    receipt = DeliveryReceipt(
        message_id=str(event.message_id),
        stat=stat,
        err=min(max(event.err, 0), 999),
        sub=1,
        dlvrd=1 if stat == "DELIVRD" else 0,
        submit_date=datetime.fromtimestamp(event.created_at, UTC).astimezone(zone),
        done_date=datetime.fromtimestamp(event.at, UTC).astimezone(zone),
        text=None if _is_hlr(event) else _excerpt(event.text),
        hlr=_hlr_pairs(event) if _is_hlr(event) and stat == "DELIVRD" else (),
    )
    ton, npi = _address_type(event.sender or "")
    return DeliverSm(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr=event.phone,
        dest_addr_ton=ton,
        dest_addr_npi=npi,
        destination_addr=event.sender or "",
        esm_class=0x04,
        data_coding=0,
        short_message=format_receipt(receipt).encode("ascii", "replace"),
        tlvs=Tlvs(
            receipted_message_id=str(event.message_id),
            message_state=int(state),
            network_error_code=NetworkErrorCode(3, event.err) if event.err else None,
        ),
    )


def _is_hlr(event: ReceiptEvent) -> bool:
    return event.msg_type == MessageType.HLR


def _excerpt(text: str) -> str:
    """The first 20 characters, transliterated, anything still not ASCII as ``?``."""
    latin = translit(text[:_TEXT_CHARS], 1)[:_TEXT_CHARS]
    return "".join(c if " " <= c < "\x7f" else "?" for c in latin)


def _hlr_pairs(event: ReceiptEvent) -> tuple[tuple[str, str], ...]:
    answer = json.loads(event.hlr) if event.hlr else {}
    return tuple((name, str(answer.get(name, ""))) for name in _HLR_FIELDS)


def _address_type(address: str) -> tuple[int, int]:
    """(TON, NPI) of a sender as the ESME would have sent it: international number, or
    alphanumeric (5/0); none (0/0)."""
    if not address:
        return 0, 0
    if address.lstrip("+").isdigit():
        return 1, 1
    return 5, 0
