"""Optional parameters (TLVs) of SMPP 3.4 §5.3: typed values by tag, unknown tags kept verbatim.

A PDU carries one :class:`Tlvs` value. Every standard SMPP 3.4 parameter is an attribute with a typed
value (``int`` for integers, ``str`` for C-octet strings read as Latin-1, ``bytes`` for octet strings,
:class:`NetworkErrorCode`, ``True`` for the zero-length ``alert_on_message_delivery``), ``None`` when
absent. Tags the codec does not know are kept in ``unknown`` as ``(tag, value)`` pairs in arrival order
and written back as received, so a proxy never drops a vendor parameter.

Known parameters are encoded in the order of :data:`TLV_SPECS` followed by the unknown ones.
Errors: a block that does not split into whole TLVs → ``ESME_RINVOPTPARSTREAM``; a value of the wrong
size → ``ESME_RINVPARLEN``; a C-string with a NUL inside or a repeated known tag →
``ESME_RINVOPTPARAMVAL``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppDecodeError, SmppEncodeError

_TL = struct.Struct(">HH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """network_error_code (0x0423): network type (1 ANSI-136, 2 IS-95, 3 GSM, …) and its error code."""

    network_type: int
    error_code: int


@dataclass(frozen=True, slots=True, repr=False)
class Tlvs:
    """The optional parameters of one PDU (SMPP 3.4 §5.3.2); ``None`` means absent."""

    dest_addr_subunit: int | None = None
    dest_network_type: int | None = None
    dest_bearer_type: int | None = None
    dest_telematics_id: int | None = None
    source_addr_subunit: int | None = None
    source_network_type: int | None = None
    source_bearer_type: int | None = None
    source_telematics_id: int | None = None
    qos_time_to_live: int | None = None
    payload_type: int | None = None
    additional_status_info_text: str | None = None
    receipted_message_id: str | None = None
    ms_msg_wait_facilities: int | None = None
    privacy_indicator: int | None = None
    source_subaddress: bytes | None = None
    dest_subaddress: bytes | None = None
    user_message_reference: int | None = None
    user_response_code: int | None = None
    source_port: int | None = None
    destination_port: int | None = None
    sar_msg_ref_num: int | None = None
    language_indicator: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    sc_interface_version: int | None = None
    callback_num_pres_ind: int | None = None
    callback_num_atag: bytes | None = None
    number_of_messages: int | None = None
    callback_num: bytes | None = None
    dpf_result: int | None = None
    set_dpf: int | None = None
    ms_availability_status: int | None = None
    network_error_code: NetworkErrorCode | None = None
    message_payload: bytes | None = None
    delivery_failure_reason: int | None = None
    more_messages_to_send: int | None = None
    message_state: int | None = None
    ussd_service_op: int | None = None
    display_time: int | None = None
    sms_signal: int | None = None
    ms_validity: int | None = None
    alert_on_message_delivery: bool | None = None
    its_reply_type: int | None = None
    its_session_info: int | None = None
    unknown: tuple[tuple[int, bytes], ...] = ()

    def __bool__(self) -> bool:
        return self != NO_TLVS

    def __repr__(self) -> str:
        present = ", ".join(
            f"{spec.name}={getattr(self, spec.name)!r}"
            for spec in TLV_SPECS
            if getattr(self, spec.name) is not None
        )
        if self.unknown:
            present += f"{', ' if present else ''}unknown={self.unknown!r}"
        return f"Tlvs({present})"


NO_TLVS = Tlvs()
"""The empty parameter set (shared: PDUs without TLVs do not allocate one)."""


class TlvKind(Enum):
    U8 = 1
    U16 = 2
    U32 = 3
    CSTRING = 4
    OCTETS = 5
    FLAG = 6
    NETWORK_ERROR = 7


class TlvSpec(NamedTuple):
    """How one tag is typed: ``max_octets`` includes the NUL of a C-string."""

    tag: int
    name: str
    kind: TlvKind
    min_octets: int = 0
    max_octets: int = 0


_U8, _U16K, _U32K = TlvKind.U8, TlvKind.U16, TlvKind.U32

TLV_SPECS: tuple[TlvSpec, ...] = (
    TlvSpec(0x0005, "dest_addr_subunit", _U8),
    TlvSpec(0x0006, "dest_network_type", _U8),
    TlvSpec(0x0007, "dest_bearer_type", _U8),
    TlvSpec(0x0008, "dest_telematics_id", _U16K),
    TlvSpec(0x000D, "source_addr_subunit", _U8),
    TlvSpec(0x000E, "source_network_type", _U8),
    TlvSpec(0x000F, "source_bearer_type", _U8),
    TlvSpec(0x0010, "source_telematics_id", _U8),
    TlvSpec(0x0017, "qos_time_to_live", _U32K),
    TlvSpec(0x0019, "payload_type", _U8),
    TlvSpec(0x001D, "additional_status_info_text", TlvKind.CSTRING, 1, 256),
    TlvSpec(0x001E, "receipted_message_id", TlvKind.CSTRING, 1, 65),
    TlvSpec(0x0030, "ms_msg_wait_facilities", _U8),
    TlvSpec(0x0201, "privacy_indicator", _U8),
    TlvSpec(0x0202, "source_subaddress", TlvKind.OCTETS, 2, 23),
    TlvSpec(0x0203, "dest_subaddress", TlvKind.OCTETS, 2, 23),
    TlvSpec(0x0204, "user_message_reference", _U16K),
    TlvSpec(0x0205, "user_response_code", _U8),
    TlvSpec(0x020A, "source_port", _U16K),
    TlvSpec(0x020B, "destination_port", _U16K),
    TlvSpec(0x020C, "sar_msg_ref_num", _U16K),
    TlvSpec(0x020D, "language_indicator", _U8),
    TlvSpec(0x020E, "sar_total_segments", _U8),
    TlvSpec(0x020F, "sar_segment_seqnum", _U8),
    TlvSpec(0x0210, "sc_interface_version", _U8),
    TlvSpec(0x0302, "callback_num_pres_ind", _U8),
    TlvSpec(0x0303, "callback_num_atag", TlvKind.OCTETS, 0, 65),
    TlvSpec(0x0304, "number_of_messages", _U8),
    TlvSpec(0x0381, "callback_num", TlvKind.OCTETS, 4, 19),
    TlvSpec(0x0420, "dpf_result", _U8),
    TlvSpec(0x0421, "set_dpf", _U8),
    TlvSpec(0x0422, "ms_availability_status", _U8),
    TlvSpec(0x0423, "network_error_code", TlvKind.NETWORK_ERROR),
    TlvSpec(0x0424, "message_payload", TlvKind.OCTETS, 0, 0xFFFF),
    TlvSpec(0x0425, "delivery_failure_reason", _U8),
    TlvSpec(0x0426, "more_messages_to_send", _U8),
    TlvSpec(0x0427, "message_state", _U8),
    TlvSpec(0x0501, "ussd_service_op", _U8),
    TlvSpec(0x1201, "display_time", _U8),
    TlvSpec(0x1203, "sms_signal", _U16K),
    TlvSpec(0x1204, "ms_validity", _U8),
    TlvSpec(0x130C, "alert_on_message_delivery", TlvKind.FLAG),
    TlvSpec(0x1380, "its_reply_type", _U8),
    TlvSpec(0x1383, "its_session_info", _U16K),
)
"""Every standard SMPP 3.4 optional parameter, in tag order (SMPP 3.4 §5.3.2 table 5-8)."""

SPEC_BY_TAG: dict[int, TlvSpec] = {spec.tag: spec for spec in TLV_SPECS}
SPEC_BY_NAME: dict[str, TlvSpec] = {spec.name: spec for spec in TLV_SPECS}
_FIXED_SIZE = {TlvKind.U8: 1, TlvKind.U16: 2, TlvKind.U32: 4, TlvKind.NETWORK_ERROR: 3}


def decode_tlvs(data: bytes, pos: int, end: int) -> Tlvs:
    """The parameters in ``data[pos:end]``; raises :class:`SmppDecodeError` (status per module doc)."""
    if pos == end:
        return NO_TLVS
    known: dict[str, object] = {}
    unknown: list[tuple[int, bytes]] = []
    while pos < end:
        if end - pos < 4:
            raise SmppDecodeError(CommandStatus.ESME_RINVOPTPARSTREAM, "truncated TLV header")
        tag, length = _TL.unpack_from(data, pos)
        pos += 4
        if pos + length > end:
            raise SmppDecodeError(
                CommandStatus.ESME_RINVOPTPARSTREAM, f"TLV 0x{tag:04X} runs past the PDU"
            )
        value = data[pos : pos + length]
        pos += length
        spec = SPEC_BY_TAG.get(tag)
        if spec is None:
            unknown.append((tag, value))
        elif spec.name in known:
            raise SmppDecodeError(CommandStatus.ESME_RINVOPTPARAMVAL, f"{spec.name} repeated")
        else:
            known[spec.name] = _decode_value(spec, value)
    return Tlvs(**known, unknown=tuple(unknown))  # type: ignore[arg-type]  # values typed by spec


def _decode_value(spec: TlvSpec, value: bytes) -> object:
    kind, length = spec.kind, len(value)
    size = _FIXED_SIZE.get(kind)
    if size is not None:
        if length != size:
            raise _bad_length(spec, length)
        if kind is TlvKind.U8:
            return value[0]
        if kind is TlvKind.U16:
            return _U16.unpack(value)[0]
        if kind is TlvKind.U32:
            return _U32.unpack(value)[0]
        return NetworkErrorCode(value[0], _U16.unpack_from(value, 1)[0])
    if kind is TlvKind.FLAG:
        # SMPP 3.4 defines no value; SMPP 5.0 peers may send one octet.
        if length > 1:
            raise _bad_length(spec, length)
        return True
    if not spec.min_octets <= length <= spec.max_octets:
        raise _bad_length(spec, length)
    if kind is TlvKind.OCTETS:
        return value
    # C-octet string; a missing terminating NUL is common in the field and tolerated.
    text = value[:-1] if value.endswith(b"\0") else value
    if b"\0" in text:
        raise SmppDecodeError(CommandStatus.ESME_RINVOPTPARAMVAL, f"{spec.name}: NUL inside")
    return text.decode("latin-1")


def _bad_length(spec: TlvSpec, length: int) -> SmppDecodeError:
    return SmppDecodeError(CommandStatus.ESME_RINVPARLEN, f"{spec.name}: {length} octets")


def encode_tlvs(tlvs: Tlvs, out: bytearray) -> None:
    """Append the parameters to ``out``; raises :class:`SmppEncodeError` for unrepresentable values."""
    for spec in TLV_SPECS:
        value = getattr(tlvs, spec.name)
        if value is not None:
            encoded = _encode_value(spec, value)
            out += _TL.pack(spec.tag, len(encoded))
            out += encoded
    for tag, raw in tlvs.unknown:
        if tag in SPEC_BY_TAG or not 0 <= tag <= 0xFFFF or len(raw) > 0xFFFF:
            raise SmppEncodeError(CommandStatus.ESME_RINVOPTPARSTREAM, f"unknown TLV 0x{tag:04X}")
        out += _TL.pack(tag, len(raw))
        out += raw


def _encode_value(spec: TlvSpec, value: object) -> bytes:
    try:
        if spec.kind is TlvKind.U8:
            return bytes((value,))  # type: ignore[arg-type]  # int by Tlvs' annotation
        if spec.kind is TlvKind.U16:
            return _U16.pack(value)
        if spec.kind is TlvKind.U32:
            return _U32.pack(value)
        if spec.kind is TlvKind.FLAG:
            return b""
        if isinstance(value, NetworkErrorCode):
            return bytes((value.network_type,)) + _U16.pack(value.error_code)
        if isinstance(value, str):
            encoded = value.encode("latin-1")
            if b"\0" in encoded:
                raise ValueError("NUL inside a C-octet string")
            encoded += b"\0"
        else:
            encoded = bytes(value)  # type: ignore[call-overload]  # bytes by Tlvs' annotation
    except (ValueError, TypeError, struct.error) as exc:
        raise SmppEncodeError(CommandStatus.ESME_RINVOPTPARAMVAL, f"{spec.name}: {exc}") from exc
    if not spec.min_octets <= len(encoded) <= spec.max_octets:
        raise SmppEncodeError(CommandStatus.ESME_RINVPARLEN, f"{spec.name}: {len(encoded)} octets")
    return encoded
