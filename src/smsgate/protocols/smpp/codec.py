"""Bytes ↔ PDUs (SMPP 3.4 §3.2): :func:`encode_pdu` and :func:`decode_pdu` of one whole frame.

Both walk the ``body`` description of the PDU class (``pdu.py``); C-octet strings are found with
``bytes.find`` and integers read by index or ``struct``, never one Python step per octet.

Decoding is strict: a C-octet string longer than its limit (or without its NUL) is refused with the
field's own status (``ESME_RINVSRCADR`` for ``source_addr`` …), a body that ends early with
``ESME_RINVCMDLEN``, ``sm_length`` past the end with ``ESME_RINVMSGLEN``, a time that is neither empty
nor 16 characters with ``ESME_RINVSCHED``/``ESME_RINVEXPIRY``, TLV faults as in ``tlv.py``. Every
refusal is a :class:`SmppDecodeError` carrying the sequence number and command id of the frame, so the
session can answer it. The one leniency: a response whose body is absent decodes with default fields,
because SMPP 3.4 omits the body of a failed ``*_resp`` (§4.4.2) and peers differ on the others.
Accordingly :func:`encode_pdu` omits the body of an error response whose fields are all defaults.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import fields

from smsgate.protocols.smpp.constants import CommandStatus, status_of
from smsgate.protocols.smpp.errors import SmppDecodeError, SmppEncodeError
from smsgate.protocols.smpp.pdu import (
    PDU_CLASS_BY_ID,
    DistributionList,
    Field,
    FieldKind,
    Pdu,
    Response,
    SmeAddress,
    UnsuccessSme,
)
from smsgate.protocols.smpp.tlv import NO_TLVS, decode_tlvs, encode_tlvs

HEADER = struct.Struct(">IIII")
HEADER_SIZE = 16
_U32 = struct.Struct(">I")
_U8, _CSTRING, _TIME, _SM = FieldKind.U8, FieldKind.CSTRING, FieldKind.TIME, FieldKind.SHORT_MESSAGE
_DEST_SME, _DEST_DL = 1, 2
_ADDRESS_21 = Field("destination_addr", FieldKind.CSTRING, 21, CommandStatus.ESME_RINVDSTADR)
_DL_NAME = Field("dl_name", FieldKind.CSTRING, 21, CommandStatus.ESME_RINVDLNAME)

_Step = tuple[Field, struct.Struct | None]


def _plan(body: tuple[Field, ...]) -> tuple[_Step, ...]:
    """The body as decoding steps; consecutive one-octet integers become one ``struct`` read."""
    steps: list[_Step] = []
    run: list[Field] = []
    for field in (*body, None):
        if field is not None and field.kind is _U8:
            run.append(field)
            continue
        if run:
            steps.append((run[0], struct.Struct(f">{len(run)}B")))
            run = []
        if field is not None:
            steps.append((field, None))
    return tuple(steps)


def _slot_setters(cls: type[Pdu]) -> tuple[Callable[[Pdu, object], None], ...]:
    # Frozen dataclasses set each field through object.__setattr__ in __init__, which costs more
    # than the rest of decoding; the slots' own descriptors fill a new instance directly.
    setters = []
    for field in fields(cls):
        owner = next(k for k in cls.__mro__ if field.name in vars(k))
        setters.append(vars(owner)[field.name].__set__)
    return tuple(setters)


_PLANS = {cls: _plan(cls.body) for cls in PDU_CLASS_BY_ID.values()}
_SETTERS = {cls: _slot_setters(cls) for cls in PDU_CLASS_BY_ID.values()}


def decode_pdu(frame: bytes) -> Pdu:
    """The PDU in ``frame``, which must be exactly one PDU (as the framer yields them).

    Raises :class:`SmppDecodeError` (``ESME_RINVCMDID`` for an unknown command id) with the frame's
    sequence number and command id filled in.
    """
    if len(frame) < HEADER_SIZE:
        raise SmppDecodeError(CommandStatus.ESME_RINVCMDLEN, f"{len(frame)} octets, header is 16")
    length, command_id, status, sequence_number = HEADER.unpack_from(frame)
    try:
        if length != len(frame):
            raise SmppDecodeError(CommandStatus.ESME_RINVCMDLEN, "command_length ≠ frame length")
        cls = PDU_CLASS_BY_ID.get(command_id)
        if cls is None:
            raise SmppDecodeError(CommandStatus.ESME_RINVCMDID, f"command_id 0x{command_id:08X}")
        if length == HEADER_SIZE and cls.body and issubclass(cls, Response):
            return cls(sequence_number, status_of(status))  # body left out: defaults
        values: list[object] = [sequence_number, status_of(status), NO_TLVS]
        pos = _decode_body(frame, HEADER_SIZE, length, _PLANS[cls], values)
        if pos < length:
            values[2] = decode_tlvs(frame, pos, length)
    except SmppDecodeError as exc:
        exc.sequence_number = sequence_number
        exc.command_id = command_id
        raise
    pdu = object.__new__(cls)
    for setter, value in zip(_SETTERS[cls], values, strict=True):
        setter(pdu, value)
    return pdu


def _decode_body(
    data: bytes, pos: int, end: int, plan: tuple[_Step, ...], values: list[object]
) -> int:
    for field, octets in plan:
        kind = field.kind
        if octets is not None:
            if pos + octets.size > end:
                raise _truncated(field)
            values.extend(octets.unpack_from(data, pos))
            pos += octets.size
        elif kind is _CSTRING or kind is _TIME:
            # _decode_cstring, written out: this is the loop every submit_sm goes through.
            limit = pos + field.max_octets
            nul = data.find(b"\0", pos, limit if limit < end else end)
            if nul < 0:
                _decode_cstring(data, pos, end, field)  # raises the field's own error
            text = data[pos:nul].decode("latin-1")
            pos = nul + 1
            if kind is _TIME and len(text) not in (0, 16):
                raise SmppDecodeError(field.status, f"{field.name} {text!r} is not 16 characters")
            values.append(text)
        elif kind is _SM:
            if pos >= end:
                raise _truncated(field)
            sm_length = data[pos]
            pos += 1
            if pos + sm_length > end:
                raise SmppDecodeError(field.status, f"sm_length {sm_length} runs past the PDU")
            values.append(data[pos : pos + sm_length])
            pos += sm_length
        elif kind is FieldKind.DESTINATIONS:
            pos = _decode_destinations(data, pos, end, field, values)
        else:
            pos = _decode_unsuccess(data, pos, end, field, values)
    return pos


def _decode_cstring(data: bytes, pos: int, end: int, field: Field) -> tuple[str, int]:
    limit = pos + field.max_octets
    nul = data.find(b"\0", pos, limit if limit < end else end)
    if nul < 0:
        if limit > end:
            raise _truncated(field)
        raise SmppDecodeError(field.status, f"{field.name} longer than {field.max_octets - 1}")
    return data[pos:nul].decode("latin-1"), nul + 1


def _truncated(field: Field) -> SmppDecodeError:
    return SmppDecodeError(CommandStatus.ESME_RINVCMDLEN, f"PDU ends inside {field.name}")


def _decode_destinations(
    data: bytes, pos: int, end: int, field: Field, values: list[object]
) -> int:
    if pos >= end:
        raise _truncated(field)
    count = data[pos]
    pos += 1
    if not 1 <= count <= field.max_octets:
        raise SmppDecodeError(field.status, f"number_of_dests {count}")
    found: list[SmeAddress | DistributionList] = []
    for _ in range(count):
        if pos >= end:
            raise _truncated(field)
        flag = data[pos]
        if flag == _DEST_SME and pos + 3 <= end:
            address, next_pos = _decode_cstring(data, pos + 3, end, _ADDRESS_21)
            found.append(SmeAddress(data[pos + 1], data[pos + 2], address))
        elif flag == _DEST_DL:
            name, next_pos = _decode_cstring(data, pos + 1, end, _DL_NAME)
            found.append(DistributionList(name))
        elif flag == _DEST_SME:
            raise _truncated(field)
        else:
            raise SmppDecodeError(CommandStatus.ESME_RINVDESTFLAG, f"dest_flag {flag}")
        pos = next_pos
    values.append(tuple(found))
    return pos


def _decode_unsuccess(data: bytes, pos: int, end: int, field: Field, values: list[object]) -> int:
    if pos >= end:
        raise _truncated(field)
    count = data[pos]
    pos += 1
    found: list[UnsuccessSme] = []
    for _ in range(count):
        if pos + 2 > end:
            raise _truncated(field)
        address, next_pos = _decode_cstring(data, pos + 2, end, _ADDRESS_21)
        if next_pos + 4 > end:
            raise _truncated(field)
        (error,) = _U32.unpack_from(data, next_pos)
        found.append(UnsuccessSme(data[pos], data[pos + 1], address, error))
        pos = next_pos + 4
    values.append(tuple(found))
    return pos


def encode_pdu(pdu: Pdu, sequence_number: int | None = None) -> bytes:
    """The octets of ``pdu``; raises :class:`SmppEncodeError` naming the field SMPP cannot carry.

    ``sequence_number`` goes in the header instead of the PDU's own when given (a session numbers
    its requests as it sends them, without copying a frozen PDU for it).
    """
    cls = type(pdu)
    out = bytearray(HEADER_SIZE)
    if cls.body and not (
        pdu.command_status
        and isinstance(pdu, Response)
        and pdu == cls(pdu.sequence_number, pdu.command_status)
    ):
        _encode_body(pdu, cls.body, out)
    if pdu.tlvs is not NO_TLVS:
        encode_tlvs(pdu.tlvs, out)
    try:
        if sequence_number is None:
            sequence_number = pdu.sequence_number
        HEADER.pack_into(out, 0, len(out), cls.command_id, pdu.command_status, sequence_number)
    except struct.error as exc:
        raise SmppEncodeError(CommandStatus.ESME_RINVCMDLEN, f"header: {exc}") from exc
    return bytes(out)


def with_sequence_number(octets: bytes, sequence_number: int) -> bytes:
    """``octets`` of an encoded PDU with ``sequence_number`` in its header instead: a PDU encoded
    before its turn to be sent (and numbered) goes out without being encoded again."""
    return b"".join((octets[:12], _U32.pack(sequence_number), octets[16:]))


def _encode_body(pdu: Pdu, body: tuple[Field, ...], out: bytearray) -> None:
    for field in body:
        value = getattr(pdu, field.name)
        kind = field.kind
        try:
            if kind is _U8:
                out.append(value)
            elif kind is _CSTRING or kind is _TIME:
                _encode_cstring(value, field, out)
            elif kind is _SM:
                if len(value) > field.max_octets:
                    raise ValueError(f"{len(value)} octets, at most {field.max_octets}")
                out.append(len(value))
                out += value
            elif kind is FieldKind.DESTINATIONS:
                _encode_destinations(value, field, out)
            else:
                _encode_unsuccess(value, out)
        except SmppEncodeError:
            raise
        except (ValueError, TypeError, struct.error) as exc:
            raise SmppEncodeError(field.status, f"{field.name}: {exc}") from exc


def _encode_cstring(value: str, field: Field, out: bytearray) -> None:
    encoded = value.encode("latin-1")
    if b"\0" in encoded:
        raise SmppEncodeError(field.status, f"{field.name}: NUL inside")
    if len(encoded) >= field.max_octets:
        raise SmppEncodeError(field.status, f"{field.name}: longer than {field.max_octets - 1}")
    if field.kind is _TIME and len(encoded) not in (0, 16):
        raise SmppEncodeError(field.status, f"{field.name}: {value!r} is not 16 characters")
    out += encoded
    out.append(0)


def _encode_destinations(
    value: tuple[SmeAddress | DistributionList, ...], field: Field, out: bytearray
) -> None:
    if not 1 <= len(value) <= field.max_octets:
        raise SmppEncodeError(field.status, f"{len(value)} destinations")
    out.append(len(value))
    for destination in value:
        if isinstance(destination, SmeAddress):
            out += bytes((_DEST_SME, destination.dest_addr_ton, destination.dest_addr_npi))
            _encode_cstring(destination.destination_addr, _ADDRESS_21, out)
        else:
            out.append(_DEST_DL)
            _encode_cstring(destination.dl_name, _DL_NAME, out)


def _encode_unsuccess(value: tuple[UnsuccessSme, ...], out: bytearray) -> None:
    out.append(len(value))
    for sme in value:
        out += bytes((sme.dest_addr_ton, sme.dest_addr_npi))
        _encode_cstring(sme.destination_addr, _ADDRESS_21, out)
        out += _U32.pack(sme.error_status_code)
