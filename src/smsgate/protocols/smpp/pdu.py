"""SMPP 3.4 PDUs as frozen dataclasses, one class per command (SMPP 3.4 §4).

Field names follow SMPP 3.4 so the spec and the code can be searched together. Every PDU has
``sequence_number``, ``command_status`` (a :class:`CommandStatus`, or a plain ``int`` for a vendor code)
and ``tlvs``; every body field has a default, so ``SubmitSm(sequence_number=7, destination_addr="7916…")``
is a complete PDU. C-octet strings are ``str`` read and written as Latin-1 (one character per octet, so
any octets survive a round trip); ``short_message`` is ``bytes`` (see ``coding.py`` for text).

Each class lists its mandatory body in ``body`` (a tuple of :class:`Field`); the codec in ``codec.py``
walks that description, so the layout of every command is written exactly once. Maximum lengths include
the terminating NUL, as in the spec's tables; bind credentials accept up to 64 octets (protocols.md §3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, NamedTuple

from smsgate.protocols.smpp.constants import CommandId, CommandStatus
from smsgate.protocols.smpp.tlv import NO_TLVS, Tlvs

S = CommandStatus


class FieldKind(Enum):
    U8 = 1
    CSTRING = 2
    TIME = 3  # C-octet string of exactly 16 characters or empty (SMPP 3.4 §7.1)
    SHORT_MESSAGE = 4  # sm_length octet + that many octets
    DESTINATIONS = 5  # submit_multi: number_of_dests + dest_address list
    UNSUCCESS = 6  # submit_multi_resp: no_unsuccess + unsuccess_sme list


class Field(NamedTuple):
    """One mandatory field: the status a bad value is answered with, and the size limit with NUL."""

    name: str
    kind: FieldKind
    max_octets: int = 1
    status: CommandStatus = S.ESME_RINVCMDLEN


def _u8(name: str) -> Field:
    return Field(name, FieldKind.U8)


def _cstr(name: str, max_octets: int, status: CommandStatus = S.ESME_RINVCMDLEN) -> Field:
    return Field(name, FieldKind.CSTRING, max_octets, status)


BIND_CREDENTIAL_OCTETS = 65
"""Bind system_id/password/system_type/address_range: up to 64 octets + NUL (protocols.md §3.2)."""

_SYSTEM_ID = _cstr("system_id", BIND_CREDENTIAL_OCTETS, S.ESME_RINVSYSID)
_PASSWORD = _cstr("password", BIND_CREDENTIAL_OCTETS, S.ESME_RINVPASWD)
_SERVICE_TYPE = _cstr("service_type", 6, S.ESME_RINVSERTYP)
_MESSAGE_ID = _cstr("message_id", 65, S.ESME_RINVMSGID)
_SCHEDULE = Field("schedule_delivery_time", FieldKind.TIME, 17, S.ESME_RINVSCHED)
_VALIDITY = Field("validity_period", FieldKind.TIME, 17, S.ESME_RINVEXPIRY)
_SHORT_MESSAGE = Field("short_message", FieldKind.SHORT_MESSAGE, 254, S.ESME_RINVMSGLEN)


def _source(max_octets: int = 21) -> tuple[Field, ...]:
    return (
        _u8("source_addr_ton"),
        _u8("source_addr_npi"),
        _cstr("source_addr", max_octets, S.ESME_RINVSRCADR),
    )


def _destination(max_octets: int = 21) -> tuple[Field, ...]:
    return (
        _u8("dest_addr_ton"),
        _u8("dest_addr_npi"),
        _cstr("destination_addr", max_octets, S.ESME_RINVDSTADR),
    )


_BIND_BODY = (
    _SYSTEM_ID,
    _PASSWORD,
    _cstr("system_type", BIND_CREDENTIAL_OCTETS, S.ESME_RINVSYSTYP),
    _u8("interface_version"),
    _u8("addr_ton"),
    _u8("addr_npi"),
    _cstr("address_range", BIND_CREDENTIAL_OCTETS),
)

_SM_BODY = (
    _SERVICE_TYPE,
    *_source(),
    *_destination(),
    _u8("esm_class"),
    _u8("protocol_id"),
    _u8("priority_flag"),
    _SCHEDULE,
    _VALIDITY,
    _u8("registered_delivery"),
    _u8("replace_if_present_flag"),
    _u8("data_coding"),
    _u8("sm_default_msg_id"),
    _SHORT_MESSAGE,
)


@dataclass(frozen=True, slots=True)
class Pdu:
    """Header fields and TLVs shared by every PDU (SMPP 3.4 §3.2)."""

    command_id: ClassVar[CommandId]
    body: ClassVar[tuple[Field, ...]] = ()
    sequence_number: int = 0
    command_status: int = S.ESME_ROK
    tlvs: Tlvs = NO_TLVS


@dataclass(frozen=True, slots=True)
class Request(Pdu):
    """A PDU that the receiver answers (or, for ``outbind``/``alert_notification``, acts on)."""

    response_class: ClassVar[type[Response] | None] = None


@dataclass(frozen=True, slots=True)
class Response(Pdu):
    """A ``*_resp`` or ``generic_nack``."""


# --- session management (SMPP 3.4 §4.1, §4.2, §4.11, §4.3) ------------------------------------


@dataclass(frozen=True, slots=True)
class BindResp(Response):
    body = (_cstr("system_id", BIND_CREDENTIAL_OCTETS, S.ESME_RINVSYSID),)
    system_id: str = ""


@dataclass(frozen=True, slots=True)
class BindTransmitterResp(BindResp):
    command_id = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True)
class BindReceiverResp(BindResp):
    command_id = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True)
class BindTransceiverResp(BindResp):
    command_id = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True)
class Bind(Request):
    """The three bind requests share one body (SMPP 3.4 §4.1.1)."""

    body = _BIND_BODY
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def resp(
        self, system_id: str, command_status: int = S.ESME_ROK, tlvs: Tlvs = NO_TLVS
    ) -> BindResp:
        """The matching bind_*_resp (SMPP 3.4 §4.1); smsgate adds ``sc_interface_version`` in ``tlvs``."""
        cls = self.response_class
        if cls is None or not issubclass(cls, BindResp):
            raise TypeError(f"{type(self).__name__} is not a concrete bind")
        return cls(self.sequence_number, command_status, tlvs, system_id=system_id)


@dataclass(frozen=True, slots=True)
class BindTransmitter(Bind):
    command_id = CommandId.BIND_TRANSMITTER
    response_class = BindTransmitterResp


@dataclass(frozen=True, slots=True)
class BindReceiver(Bind):
    command_id = CommandId.BIND_RECEIVER
    response_class = BindReceiverResp


@dataclass(frozen=True, slots=True)
class BindTransceiver(Bind):
    command_id = CommandId.BIND_TRANSCEIVER
    response_class = BindTransceiverResp


@dataclass(frozen=True, slots=True)
class Outbind(Request):
    command_id = CommandId.OUTBIND
    body = (_SYSTEM_ID, _PASSWORD)
    system_id: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True)
class UnbindResp(Response):
    command_id = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True)
class Unbind(Request):
    command_id = CommandId.UNBIND
    response_class = UnbindResp


@dataclass(frozen=True, slots=True)
class GenericNack(Response):
    command_id = CommandId.GENERIC_NACK


@dataclass(frozen=True, slots=True)
class EnquireLinkResp(Response):
    command_id = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True)
class EnquireLink(Request):
    command_id = CommandId.ENQUIRE_LINK
    response_class = EnquireLinkResp


# --- messages (SMPP 3.4 §4.4–§4.7) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageIdResp(Response):
    body = (_MESSAGE_ID,)
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class SubmitSmResp(MessageIdResp):
    command_id = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True)
class DeliverSmResp(MessageIdResp):
    """message_id is unused (NULL) in SMPP 3.4; kept for peers that fill it."""

    command_id = CommandId.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True)
class DataSmResp(MessageIdResp):
    command_id = CommandId.DATA_SM_RESP


@dataclass(frozen=True, slots=True)
class ShortMessage(Request):
    """submit_sm and deliver_sm share one body (SMPP 3.4 §4.4.1, §4.6.1)."""

    body = _SM_BODY
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(frozen=True, slots=True)
class SubmitSm(ShortMessage):
    command_id = CommandId.SUBMIT_SM
    response_class = SubmitSmResp

    def resp(self, message_id: str, command_status: int = S.ESME_ROK) -> SubmitSmResp:
        return SubmitSmResp(self.sequence_number, command_status, message_id=message_id)


@dataclass(frozen=True, slots=True)
class DeliverSm(ShortMessage):
    command_id = CommandId.DELIVER_SM
    response_class = DeliverSmResp

    def resp(self, command_status: int = S.ESME_ROK) -> DeliverSmResp:
        return DeliverSmResp(self.sequence_number, command_status)


@dataclass(frozen=True, slots=True)
class DataSm(Request):
    command_id = CommandId.DATA_SM
    response_class = DataSmResp
    body = (
        _SERVICE_TYPE,
        *_source(65),
        *_destination(65),
        _u8("esm_class"),
        _u8("registered_delivery"),
        _u8("data_coding"),
    )
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0

    def resp(self, message_id: str, command_status: int = S.ESME_ROK) -> DataSmResp:
        return DataSmResp(self.sequence_number, command_status, message_id=message_id)


@dataclass(frozen=True, slots=True)
class SmeAddress:
    """A submit_multi destination with dest_flag 1 (SMPP 3.4 §4.5.1.1)."""

    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(frozen=True, slots=True)
class DistributionList:
    """A submit_multi destination with dest_flag 2."""

    dl_name: str = ""


@dataclass(frozen=True, slots=True)
class UnsuccessSme:
    """One failed destination of submit_multi_resp (SMPP 3.4 §4.5.2.1)."""

    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    error_status_code: int = 0


@dataclass(frozen=True, slots=True)
class SubmitMultiResp(Response):
    command_id = CommandId.SUBMIT_MULTI_RESP
    body = (_MESSAGE_ID, Field("unsuccess_smes", FieldKind.UNSUCCESS))
    message_id: str = ""
    unsuccess_smes: tuple[UnsuccessSme, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitMulti(Request):
    command_id = CommandId.SUBMIT_MULTI
    response_class = SubmitMultiResp
    body = (
        _SERVICE_TYPE,
        *_source(),
        Field("dest_addresses", FieldKind.DESTINATIONS, 254, S.ESME_RINVNUMDESTS),
        *_SM_BODY[7:],
    )
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addresses: tuple[SmeAddress | DistributionList, ...] = ()
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


# --- ancillary operations (SMPP 3.4 §4.8–§4.12) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuerySmResp(Response):
    command_id = CommandId.QUERY_SM_RESP
    body = (
        _MESSAGE_ID,
        Field("final_date", FieldKind.TIME, 17),
        _u8("message_state"),
        _u8("error_code"),
    )
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


@dataclass(frozen=True, slots=True)
class QuerySm(Request):
    command_id = CommandId.QUERY_SM
    response_class = QuerySmResp
    body = (_MESSAGE_ID, *_source())
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


@dataclass(frozen=True, slots=True)
class CancelSmResp(Response):
    command_id = CommandId.CANCEL_SM_RESP


@dataclass(frozen=True, slots=True)
class CancelSm(Request):
    command_id = CommandId.CANCEL_SM
    response_class = CancelSmResp
    body = (_SERVICE_TYPE, _MESSAGE_ID, *_source(), *_destination())
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(frozen=True, slots=True)
class ReplaceSmResp(Response):
    command_id = CommandId.REPLACE_SM_RESP


@dataclass(frozen=True, slots=True)
class ReplaceSm(Request):
    command_id = CommandId.REPLACE_SM
    response_class = ReplaceSmResp
    body = (
        _MESSAGE_ID,
        *_source(),
        _SCHEDULE,
        _VALIDITY,
        _u8("registered_delivery"),
        _u8("sm_default_msg_id"),
        _SHORT_MESSAGE,
    )
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(frozen=True, slots=True)
class AlertNotification(Request):
    """Sent by the SMSC to a receiver; it has no response (SMPP 3.4 §4.12)."""

    command_id = CommandId.ALERT_NOTIFICATION
    body = (
        *_source(65),
        _u8("esme_addr_ton"),
        _u8("esme_addr_npi"),
        _cstr("esme_addr", 65),
    )
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""


PDU_CLASSES: tuple[type[Pdu], ...] = (
    BindTransmitter,
    BindTransmitterResp,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    Outbind,
    Unbind,
    UnbindResp,
    GenericNack,
    EnquireLink,
    EnquireLinkResp,
    SubmitSm,
    SubmitSmResp,
    SubmitMulti,
    SubmitMultiResp,
    DeliverSm,
    DeliverSmResp,
    DataSm,
    DataSmResp,
    QuerySm,
    QuerySmResp,
    CancelSm,
    CancelSmResp,
    ReplaceSm,
    ReplaceSmResp,
    AlertNotification,
)
"""Every concrete PDU of SMPP 3.4, one per command_id."""

PDU_CLASS_BY_ID: dict[int, type[Pdu]] = {cls.command_id: cls for cls in PDU_CLASSES}


def error_response(request: Request, status: int) -> Response:
    """The response to ``request`` carrying ``status``, or ``generic_nack`` when it has none."""
    cls = request.response_class or GenericNack
    return cls(request.sequence_number, status)
