"""Encoding choice, part counting, splitting, ``maxsms`` truncation (domain/segments.py, http-api.md §2.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.gsm7 import GSM7_CHARS
from smsgate.domain.segments import (
    Encoding,
    SegmentInfo,
    char_units,
    choose_encoding,
    count_parts,
    split_parts,
    text_units,
    truncate_to_parts,
)

# Texts that mix the interesting kinds of characters: GSM basic, GSM extension, BMP non-GSM, non-BMP.
mixed_text = st.text(alphabet=st.sampled_from(list("aZ0 @€{|^\fяЖ€😀𝄞")), max_size=400)
gsm7_text = st.text(alphabet=st.sampled_from(sorted(GSM7_CHARS)), max_size=400)
any_text = st.one_of(mixed_text, gsm7_text, st.text(max_size=300))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo(Encoding.GSM7, 1, 0)),
        ("a" * 160, SegmentInfo(Encoding.GSM7, 1, 160)),
        ("a" * 161, SegmentInfo(Encoding.GSM7, 2, 161)),
        ("a" * 306, SegmentInfo(Encoding.GSM7, 2, 306)),
        ("a" * 307, SegmentInfo(Encoding.GSM7, 3, 307)),
        ("a" * 1000, SegmentInfo(Encoding.GSM7, 7, 1000)),
        ("€" * 80, SegmentInfo(Encoding.GSM7, 1, 160)),
        ("€" * 81, SegmentInfo(Encoding.GSM7, 2, 162)),
        ("a" * 159 + "€", SegmentInfo(Encoding.GSM7, 2, 161)),
        ("я" * 70, SegmentInfo(Encoding.UCS2, 1, 70)),
        ("я" * 71, SegmentInfo(Encoding.UCS2, 2, 71)),
        ("я" * 134, SegmentInfo(Encoding.UCS2, 2, 134)),
        ("я" * 135, SegmentInfo(Encoding.UCS2, 3, 135)),
        ("я" * 1000, SegmentInfo(Encoding.UCS2, 15, 1000)),
        ("😀" * 35, SegmentInfo(Encoding.UCS2, 1, 70)),
        ("😀" * 36, SegmentInfo(Encoding.UCS2, 2, 72)),
        ("a" * 69 + "я", SegmentInfo(Encoding.UCS2, 1, 70)),
        ("€" * 69 + "я", SegmentInfo(Encoding.UCS2, 1, 70)),  # UCS-2 counts € once
    ],
    ids=lambda value: repr(value)[:24] if isinstance(value, str) else None,
)
def test_count_parts_table(text: str, expected: SegmentInfo) -> None:
    assert count_parts(text) == expected


def test_escape_pair_is_not_split_across_parts() -> None:
    # 152 septets then "€": 154 septets, more than 153, so the € moves whole to part 2 and part 1
    # ends one septet short — but 154 ≤ 160 is still a single part.
    assert count_parts("a" * 152 + "€").parts == 1
    text = "a" * 152 + "€" + "b" * 10
    assert split_parts(text) == ["a" * 152, "€" + "b" * 10]
    # 76 € fill 152 septets; the 77th cannot take the 153rd septet alone.
    euros = "€" * 153
    assert count_parts(euros) == SegmentInfo(Encoding.GSM7, 3, 306)
    assert [len(part) for part in split_parts(euros)] == [76, 76, 1]


def test_surrogate_pair_is_not_split_across_parts() -> None:
    text = "я" * 66 + "😀" + "я" * 10
    assert count_parts(text) == SegmentInfo(Encoding.UCS2, 2, 78)
    assert split_parts(text) == ["я" * 66, "😀" + "я" * 10]


def test_whole_pairs_can_need_more_parts_than_naive_division() -> None:
    # 153 € = 306 septets: ceil(306 / 153) = 2, but a part holds only 76 whole pairs.
    assert count_parts("€" * 153).parts == 3
    assert count_parts("€" * 152).parts == 2
    # The same in UCS-2: 67 emoji = 134 units, but a part holds only 33 whole pairs.
    assert count_parts("😀" * 67) == SegmentInfo(Encoding.UCS2, 3, 134)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("", Encoding.GSM7), ("abc€", Encoding.GSM7), ("abcж", Encoding.UCS2), ("😀", Encoding.UCS2)],
)
def test_choose_encoding(text: str, encoding: Encoding) -> None:
    assert choose_encoding(text) is encoding


def test_encoding_part_sizes() -> None:
    assert (Encoding.GSM7.single_part_units, Encoding.GSM7.multi_part_units) == (160, 153)
    assert (Encoding.UCS2.single_part_units, Encoding.UCS2.multi_part_units) == (70, 67)


@pytest.mark.parametrize(
    ("char", "encoding", "units"),
    [
        ("a", Encoding.GSM7, 1),
        ("€", Encoding.GSM7, 2),
        ("\f", Encoding.GSM7, 2),
        ("€", Encoding.UCS2, 1),
        ("я", Encoding.UCS2, 1),
        ("\U0001f600", Encoding.UCS2, 2),
        ("\U00010000", Encoding.UCS2, 2),
        ("\uffff", Encoding.UCS2, 1),
    ],
)
def test_char_units(char: str, encoding: Encoding, units: int) -> None:
    assert char_units(char, encoding) == units


def test_split_parts_empty_text_is_one_empty_part() -> None:
    assert split_parts("") == [""]


@pytest.mark.parametrize(
    ("text", "max_parts", "expected"),
    [
        ("a" * 1000, 1, "a" * 160),
        ("a" * 1000, 2, "a" * 306),
        ("a" * 1000, 7, "a" * 1000),
        ("a" * 1000, 100, "a" * 1000),
        ("я" * 1000, 1, "я" * 70),
        ("я" * 1000, 2, "я" * 134),
        ("€" * 100, 1, "€" * 80),
        ("a" * 159 + "€", 1, "a" * 159),  # the pair does not fit in the last septet
        ("😀" * 40, 1, "😀" * 35),
        ("a" * 69 + "😀", 1, "a" * 69),  # 71 UCS-2 units: 2 parts; the fitting prefix is GSM-7
        ("", 1, ""),
    ],
    ids=lambda value: repr(value)[:24] if isinstance(value, str) else None,
)
def test_truncate_to_parts_table(text: str, max_parts: int, expected: str) -> None:
    assert truncate_to_parts(text, max_parts) == expected


def test_truncate_drops_the_only_non_gsm_character_and_refits_as_gsm7() -> None:
    text = "a" * 100 + "я" * 100
    assert truncate_to_parts(text, 1) == "a" * 100
    assert count_parts(truncate_to_parts(text, 2)) == SegmentInfo(Encoding.UCS2, 2, 134)


@pytest.mark.parametrize("max_parts", [0, -1])
def test_truncate_rejects_fewer_than_one_part(max_parts: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        truncate_to_parts("abc", max_parts)


@given(any_text)
def test_split_parts_agrees_with_count_parts(text: str) -> None:
    info = count_parts(text)
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == info.parts
    assert sum(text_units(part, info.encoding) for part in parts) == info.units


@given(any_text)
def test_parts_are_greedy_and_within_size(text: str) -> None:
    info = count_parts(text)
    parts = split_parts(text)
    if info.parts == 1:
        assert info.units <= info.encoding.single_part_units
        return
    capacity = info.encoding.multi_part_units
    for part, following in zip(parts, parts[1:], strict=False):
        used = text_units(part, info.encoding)
        assert 0 < used <= capacity
        # The next character did not fit: parts are as long as whole characters allow.
        assert used + char_units(following[0], info.encoding) > capacity
    assert 0 < text_units(parts[-1], info.encoding) <= capacity


@given(any_text)
def test_units_match_the_wire_size(text: str) -> None:
    info = count_parts(text)
    if info.encoding is Encoding.UCS2:
        assert info.units == len(text.encode("utf-16-be", "surrogatepass")) // 2
    else:
        assert info.units == len(text) + sum(1 for c in text if c in "^{}\\[~]|€\f")


@given(any_text, st.integers(min_value=1, max_value=8))
def test_truncate_is_the_longest_fitting_prefix(text: str, max_parts: int) -> None:
    result = truncate_to_parts(text, max_parts)
    assert text.startswith(result)
    assert count_parts(result).parts <= max_parts
    if result != text:
        assert count_parts(text[: len(result) + 1]).parts > max_parts
    assert truncate_to_parts(result, max_parts) == result


@given(any_text)
def test_parts_never_decrease_as_text_grows(text: str) -> None:
    counts = [count_parts(text[:length]).parts for length in range(0, len(text) + 1, 7)]
    assert counts == sorted(counts)
