"""Encoding choice and SMS part counting (http-api.md §2.3).

| Encoding | chosen when                               | 1 part | per part when split |
|----------|-------------------------------------------|--------|---------------------|
| GSM-7    | every character is GSM 03.38 (gsm7.py)    | 160    | 153 septets         |
| UCS-2    | otherwise                                 | 70     | 67 UTF-16 units     |

Units are septets for GSM-7 (extension characters take 2) and UTF-16 code units for UCS-2 (characters
outside the BMP take 2, a surrogate pair). A character is never split between parts: a part of a long
GSM-7 message does not end between ESC and its extension septet, and a UCS-2 part does not end between
the two halves of a surrogate pair. Such a part is left one unit short, as handsets do.

The empty text is one (empty) GSM-7 part of 0 units: it is what an empty SMS costs, and callers reject
empty texts before counting where the spec requires (protocols.md §1.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from smsgate.domain.gsm7 import EXTENSION_CHARS, is_gsm7


class Encoding(Enum):
    """How the text of an SMS is encoded, with its part sizes in units (http-api.md §2.3)."""

    single_part_units: int
    multi_part_units: int

    def __new__(cls, value: str, single_part_units: int, multi_part_units: int) -> Encoding:
        member = object.__new__(cls)
        member._value_ = value
        member.single_part_units = single_part_units
        member.multi_part_units = multi_part_units
        return member

    GSM7 = ("gsm7", 160, 153)
    UCS2 = ("ucs2", 70, 67)


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a text is sent: its encoding, number of parts and total units (septets or UTF-16 units)."""

    encoding: Encoding
    parts: int
    units: int


def choose_encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM 03.38 alphabet or its extension table, else UCS-2."""
    return Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2


def char_units(char: str, encoding: Encoding) -> int:
    """Units one character takes: 2 for a GSM-7 extension character or a non-BMP UCS-2 character."""
    if encoding is Encoding.GSM7:
        return 2 if char in EXTENSION_CHARS else 1
    return 2 if ord(char) > 0xFFFF else 1


def text_units(text: str, encoding: Encoding) -> int:
    """Total units of ``text`` in ``encoding`` (the caller ensures GSM-7 can carry it)."""
    return sum(char_units(char, encoding) for char in text)


def count_parts(text: str) -> SegmentInfo:
    """Encoding, parts and units of ``text``; parts agree with :func:`split_parts` (http-api.md §2.3).

    Up to 160 septets (70 UCS-2 units) is one part; longer texts are cut into parts of at most 153
    septets (67 units) without splitting a character. The empty text is 1 part of 0 units.
    """
    encoding = choose_encoding(text)
    units = text_units(text, encoding)
    if units <= encoding.single_part_units:
        return SegmentInfo(encoding, 1, units)
    return SegmentInfo(encoding, sum(1 for _ in _part_bounds(text, encoding)), units)


def split_parts(text: str) -> list[str]:
    """The text of each part, in order; ``"".join(split_parts(t)) == t`` (http-api.md §2.3).

    ``len(split_parts(t)) == count_parts(t).parts``; the empty text gives ``[""]``. The parts carry
    text only: the concatenation UDH that SMPP adds is already accounted for by the 153/67 sizes.
    """
    encoding = choose_encoding(text)
    if text_units(text, encoding) <= encoding.single_part_units:
        return [text]
    return [text[start:end] for start, end in _part_bounds(text, encoding)]


def truncate_to_parts(text: str, max_parts: int) -> str:
    """The longest prefix of ``text`` that fits ``max_parts`` parts (``maxsms``, http-api.md §2.3).

    The cut falls after the last whole character that fits, so an extension character or a
    surrogate pair is never halved. The prefix is counted in its own encoding: when the only
    non-GSM characters are cut away, the kept text is GSM-7 and fits the larger GSM-7 parts.
    Raises ValueError when ``max_parts`` < 1.
    """
    if max_parts < 1:
        raise ValueError(f"maxsms must be at least 1, got {max_parts}")
    if count_parts(text).parts <= max_parts:
        return text
    # Parts never decrease as a prefix grows (a UCS-2 part holds fewer characters than a GSM-7 one),
    # so the longest fitting prefix is found by bisection on its length.
    fits, too_long = 0, len(text)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if count_parts(text[:middle]).parts <= max_parts:
            fits = middle
        else:
            too_long = middle
    return text[:fits]


def _part_bounds(text: str, encoding: Encoding) -> Iterator[tuple[int, int]]:
    """Greedy ``(start, end)`` slices of at most ``multi_part_units`` units each, whole characters."""
    capacity = encoding.multi_part_units
    start, used = 0, 0
    for index, char in enumerate(text):
        units = char_units(char, encoding)
        if used + units > capacity:
            yield start, index
            start, used = index, 0
        used += units
    yield start, len(text)
