"""Hypothesis strategies for every SMPP PDU, built from the classes' own body descriptions."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.pdu import (
    DistributionList,
    Field,
    FieldKind,
    Pdu,
    Response,
    SmeAddress,
    UnsuccessSme,
)
from smsgate.protocols.smpp.tlv import SPEC_BY_TAG, TLV_SPECS, NetworkErrorCode, TlvKind, Tlvs

octet = st.integers(0, 255)
latin1 = st.characters(min_codepoint=1, max_codepoint=255)
sequence_numbers = st.integers(1, 0x7FFFFFFF)


def cstring(max_octets: int) -> st.SearchStrategy[str]:
    return st.text(latin1, max_size=max_octets - 1)


smpp_times = st.one_of(st.just(""), st.text(latin1, min_size=16, max_size=16))
addresses = cstring(21)
destinations = st.lists(
    st.one_of(
        st.builds(SmeAddress, octet, octet, addresses),
        st.builds(DistributionList, addresses),
    ),
    min_size=1,
    max_size=5,
).map(tuple)
unsuccess = st.lists(
    st.builds(UnsuccessSme, octet, octet, addresses, st.integers(0, 0xFFFFFFFF)), max_size=5
).map(tuple)


def field_values(field: Field) -> st.SearchStrategy[Any]:
    if field.kind is FieldKind.U8:
        return octet
    if field.kind is FieldKind.CSTRING:
        return cstring(field.max_octets)
    if field.kind is FieldKind.TIME:
        return smpp_times
    if field.kind is FieldKind.SHORT_MESSAGE:
        return st.binary(max_size=field.max_octets)
    if field.kind is FieldKind.DESTINATIONS:
        return destinations
    return unsuccess


def tlv_values(kind: TlvKind, min_octets: int, max_octets: int) -> st.SearchStrategy[Any]:
    match kind:
        case TlvKind.U8:
            return octet
        case TlvKind.U16:
            return st.integers(0, 0xFFFF)
        case TlvKind.U32:
            return st.integers(0, 0xFFFFFFFF)
        case TlvKind.FLAG:
            return st.just(True)
        case TlvKind.NETWORK_ERROR:
            return st.builds(NetworkErrorCode, octet, st.integers(0, 0xFFFF))
        case TlvKind.CSTRING:
            return st.text(latin1, max_size=max_octets - 1)
        case _:
            return st.binary(min_size=min_octets, max_size=min(max_octets, 300))


unknown_tags = st.integers(0x1400, 0x3FFF).filter(lambda tag: tag not in SPEC_BY_TAG)

tlvs: st.SearchStrategy[Tlvs] = st.builds(
    Tlvs,
    **{
        spec.name: st.none() | tlv_values(spec.kind, spec.min_octets, spec.max_octets)
        for spec in TLV_SPECS
    },
    unknown=st.lists(st.tuples(unknown_tags, st.binary(max_size=20)), max_size=3).map(tuple),
)
some_tlvs = st.one_of(st.just(Tlvs()), tlvs)
statuses = st.one_of(st.sampled_from(list(CommandStatus)), st.integers(0x400, 0x4FF))


def pdus(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    return st.builds(
        cls,
        sequence_numbers,
        statuses if issubclass(cls, Response) else st.just(CommandStatus.ESME_ROK),
        some_tlvs,
        *(field_values(field) for field in cls.body),
    )
