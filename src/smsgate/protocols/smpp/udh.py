"""User data header (3GPP TS 23.040 §9.2.3.24) in short_message: split, build, concatenation.

A short_message with esm_class UDHI (0x40) starts with UDHL and that many octets of information
elements. Concatenation comes as IEI 0x00 (8-bit reference) or IEI 0x08 (16-bit reference)
(protocols.md §3.6). A header that runs past the message, an element that runs past the header, or a
concatenation element with impossible numbers raises ``SmppError(ESME_RINVMSGLEN)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08
IEI_PORTS_8 = 0x04
IEI_PORTS_16 = 0x05


@dataclass(frozen=True, slots=True)
class InformationElement:
    iei: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Concatenation:
    """One part of a concatenated message: ``seqnum`` of ``total`` under ``reference``.

    ``wide`` is True for a 16-bit reference (IEI 0x08, or SAR TLVs, whose sar_msg_ref_num is 16-bit).
    """

    reference: int
    total: int
    seqnum: int
    wide: bool = False

    def check(self, status: CommandStatus = CommandStatus.ESME_RINVMSGLEN) -> Concatenation:
        """Itself when 1 ≤ seqnum ≤ total ≤ 255 and the reference fits, else ``SmppError(status)``."""
        limit = 0xFFFF if self.wide else 0xFF
        if not (1 <= self.seqnum <= self.total <= 255 and 0 <= self.reference <= limit):
            raise SmppError(status, f"concatenation part {self.seqnum} of {self.total}")
        return self


def _invalid(detail: str) -> SmppError:
    return SmppError(CommandStatus.ESME_RINVMSGLEN, detail)


def split_udh(short_message: bytes) -> tuple[tuple[InformationElement, ...], bytes]:
    """The information elements of the header and the user data after it."""
    if not short_message:
        raise _invalid("UDHI set but short_message is empty")
    header_end = 1 + short_message[0]
    if header_end > len(short_message):
        raise _invalid(f"UDHL {short_message[0]} runs past the message")
    elements: list[InformationElement] = []
    pos = 1
    while pos < header_end:
        if pos + 2 > header_end:
            raise _invalid("truncated information element")
        iei, length = short_message[pos], short_message[pos + 1]
        data_end = pos + 2 + length
        if data_end > header_end:
            raise _invalid(f"information element 0x{iei:02X} runs past the header")
        elements.append(InformationElement(iei, short_message[pos + 2 : data_end]))
        pos = data_end
    return tuple(elements), short_message[header_end:]


def build_udh(elements: tuple[InformationElement, ...] | list[InformationElement]) -> bytes:
    """UDHL followed by the elements; the inverse of the header half of :func:`split_udh`."""
    body = b"".join(bytes((e.iei, len(e.data))) + e.data for e in elements)
    if len(body) > 139:
        raise ValueError(f"user data header of {len(body)} octets")
    return bytes((len(body),)) + body


def concatenation(elements: tuple[InformationElement, ...]) -> Concatenation | None:
    """The concatenation element among ``elements`` (checked), or ``None``."""
    for element in elements:
        if element.iei == IEI_CONCAT_8 and len(element.data) == 3:
            ref, total, seqnum = element.data
            return Concatenation(ref, total, seqnum).check()
        if element.iei == IEI_CONCAT_16 and len(element.data) == 4:
            ref = int.from_bytes(element.data[:2], "big")
            return Concatenation(ref, element.data[2], element.data[3], wide=True).check()
        if element.iei in (IEI_CONCAT_8, IEI_CONCAT_16):
            raise _invalid(f"concatenation element of {len(element.data)} octets")
    return None


def concat_element(part: Concatenation) -> InformationElement:
    """The IEI 0x00 or 0x08 element for ``part``."""
    part.check()
    if part.wide:
        data = part.reference.to_bytes(2, "big") + bytes((part.total, part.seqnum))
        return InformationElement(IEI_CONCAT_16, data)
    return InformationElement(IEI_CONCAT_8, bytes((part.reference, part.total, part.seqnum)))


def concat_udh(reference: int, total: int, seqnum: int, *, wide: bool = False) -> bytes:
    """A whole header with just the concatenation element, e.g. ``05 00 03 ref total seq``."""
    return build_udh([concat_element(Concatenation(reference, total, seqnum, wide))])
