"""Delivery receipts from deliver_sm or data_sm, read leniently (field-notes.md: "Some operators send
receipts as data_sm"; jookies/jasmin #139, #418).

A PDU is a receipt when its esm_class says so (0x04 SMSC delivery receipt, 0x20 intermediate
notification) or it carries ``receipted_message_id``. The text (``short_message`` or
``message_payload``) is parsed by ``protocols/smpp/dlr.py``; when it cannot be read, the TLVs
``receipted_message_id`` and ``message_state`` stand in for it. The id is normalised in the
connector's receipt :class:`IdFormat`, so it meets the id taken from ``submit_sm_resp``.

``stat`` → :class:`DeliveryState` (codes.md §3.1): DELIVRD delivered; EXPIRED expired; UNDELIV and
words SMPP does not define undeliverable; REJECTD, DELETED, UNKNOWN rejected; ACCEPTD, ENROUTE
intermediate. ``err`` is the text's ``err:``; when that is 0 the ``network_error_code`` TLV's code.
"""

from __future__ import annotations

from smsgate.channels.base import DeliveryState, Receipt
from smsgate.channels.smpp.ids import normalise_id
from smsgate.channels.smpp.settings import IdFormat
from smsgate.protocols.smpp.constants import EsmClass, MessageState
from smsgate.protocols.smpp.dlr import DeliveryReceipt, ReceiptFormatError, parse_receipt
from smsgate.protocols.smpp.pdu import DataSm, DeliverSm

_RECEIPT_TYPES = frozenset({EsmClass.DELIVERY_RECEIPT, EsmClass.INTERMEDIATE_NOTIFICATION})

_BY_STAT = {
    "DELIVRD": DeliveryState.DELIVERED,
    "EXPIRED": DeliveryState.EXPIRED,
    "UNDELIV": DeliveryState.UNDELIVERABLE,
    "REJECTD": DeliveryState.REJECTED,
    "DELETED": DeliveryState.REJECTED,
    "UNKNOWN": DeliveryState.REJECTED,
    "ACCEPTD": DeliveryState.ACCEPTED,
    "ENROUTE": DeliveryState.ACCEPTED,
}
_BY_MESSAGE_STATE = {
    MessageState.DELIVERED: DeliveryState.DELIVERED,
    MessageState.EXPIRED: DeliveryState.EXPIRED,
    MessageState.UNDELIVERABLE: DeliveryState.UNDELIVERABLE,
    MessageState.REJECTED: DeliveryState.REJECTED,
    MessageState.DELETED: DeliveryState.REJECTED,
    MessageState.UNKNOWN: DeliveryState.REJECTED,
    MessageState.ACCEPTED: DeliveryState.ACCEPTED,
    MessageState.ENROUTE: DeliveryState.ACCEPTED,
}


class NotAReceipt(ValueError):
    """A receipt PDU whose id or state cannot be read at all."""


def is_receipt(pdu: DeliverSm | DataSm) -> bool:
    return (
        pdu.esm_class & EsmClass.TYPE_MASK
    ) in _RECEIPT_TYPES or pdu.tlvs.receipted_message_id is not None


def receipt_of(pdu: DeliverSm | DataSm, id_format: IdFormat) -> Receipt:
    """The receipt ``pdu`` carries (call only when :func:`is_receipt`); NotAReceipt when unreadable."""
    tlvs = pdu.tlvs
    octets = tlvs.message_payload or (pdu.short_message if isinstance(pdu, DeliverSm) else b"")
    parsed: DeliveryReceipt | None
    try:
        parsed = parse_receipt(octets.decode("latin-1")) if octets else None
    except ReceiptFormatError:
        parsed = None
    raw_id = tlvs.receipted_message_id or (parsed.message_id if parsed is not None else None)
    if not raw_id:
        raise NotAReceipt("receipt without a message id")
    state = _state(parsed, tlvs.message_state)
    err = parsed.err if parsed is not None else 0
    if err == 0 and tlvs.network_error_code is not None:
        err = tlvs.network_error_code.error_code
    return Receipt(normalise_id(raw_id, id_format), state, min(max(err, 0), 255))


def _state(parsed: DeliveryReceipt | None, message_state: int | None) -> DeliveryState:
    if parsed is not None and parsed.stat in _BY_STAT:
        return _BY_STAT[parsed.stat]
    if message_state is not None:
        try:
            return _BY_MESSAGE_STATE[MessageState(message_state)]
        except (ValueError, KeyError):
            pass
    if parsed is not None and parsed.stat:
        return DeliveryState.UNDELIVERABLE  # an operator's own failure word
    raise NotAReceipt("receipt without a state")
