"""GSM 03.38 tables and unpacked septet codec (domain/gsm7.py, http-api.md §2.3, TS 23.038 §6.2.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.gsm7 import (
    BASIC_CHARS,
    ESC,
    EXTENSION_CHARS,
    GSM7_CHARS,
    Gsm7Error,
    decode_gsm7,
    encode_gsm7,
    is_gsm7,
    septet_length,
)

gsm7_text = st.text(alphabet=st.sampled_from(sorted(GSM7_CHARS)))


def test_basic_table_has_127_characters_and_skips_esc() -> None:
    assert len(BASIC_CHARS) == 127
    assert sorted(BASIC_CHARS.values()) == [code for code in range(128) if code != ESC]
    assert "\x1b" not in GSM7_CHARS


def test_extension_table_is_exactly_the_spec_list() -> None:
    assert set(EXTENSION_CHARS) == set("^{}\\[~]|€\f")
    assert not set(EXTENSION_CHARS) & set(BASIC_CHARS)


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("@", 0x00),
        ("£", 0x01),
        ("$", 0x02),
        ("¥", 0x03),
        ("Ç", 0x09),
        ("\n", 0x0A),
        ("\r", 0x0D),
        ("\u0394", 0x10),  # Δ
        ("_", 0x11),
        ("\u03a9", 0x15),  # Ω
        ("\u039e", 0x1A),  # Ξ
        ("É", 0x1F),
        (" ", 0x20),
        ("¤", 0x24),
        ("0", 0x30),
        ("¡", 0x40),
        ("A", 0x41),
        ("Z", 0x5A),
        ("§", 0x5F),
        ("¿", 0x60),
        ("a", 0x61),
        ("ü", 0x7E),
        ("à", 0x7F),
    ],
)
def test_basic_table_positions(char: str, code: int) -> None:
    assert BASIC_CHARS[char] == code
    assert encode_gsm7(char) == bytes([code])


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\f", 0x0A),
        ("^", 0x14),
        ("{", 0x28),
        ("}", 0x29),
        ("\\", 0x2F),
        ("[", 0x3C),
        ("~", 0x3D),
        ("]", 0x3E),
        ("|", 0x40),
        ("€", 0x65),
    ],
)
def test_extension_characters_are_escaped_and_count_two(char: str, code: int) -> None:
    assert encode_gsm7(char) == bytes([ESC, code])
    assert septet_length(char) == 2
    assert decode_gsm7(bytes([ESC, code])) == char


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("Hello, world!", True),
        ("@£$¥èéùìòÇØøÅåÆæßÉÄÖÑÜ§¿äöñüà¡¤", True),
        ("{[~]}|^\\€\f", True),
        ("Привет", False),
        ("ç", False),  # only the capital Ç is in the table
        ("`", False),
        ("\x1b", False),
        ("\t", False),
        ("😀", False),
        ("Ω", True),  # U+03A9
        ("\u2126", False),  # OHM SIGN looks the same but is not in the table
    ],
)
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "septets"),
    [("", 0), ("abc", 3), ("€", 2), ("a€b", 4), ("€" * 80, 160), ("{}" * 3, 12), ("\r\n", 2)],
)
def test_septet_length(text: str, septets: int) -> None:
    assert septet_length(text) == septets


def test_encode_rejects_non_gsm_naming_the_character() -> None:
    with pytest.raises(Gsm7Error, match=r"U\+0436 at 2"):
        encode_gsm7("abж")
    with pytest.raises(Gsm7Error):
        septet_length("😀")


def test_gsm7_error_is_a_value_error() -> None:
    assert issubclass(Gsm7Error, ValueError)


def test_decode_rejects_octets_above_0x7f() -> None:
    with pytest.raises(Gsm7Error, match="0x80 at 1"):
        decode_gsm7(b"A\x80")


@pytest.mark.parametrize(
    ("septets", "text"),
    [
        (b"\x1b\x41", "A"),  # no extension character: the basic one is shown (TS 23.038)
        (b"\x1b\x1b\x41", " A"),  # ESC ESC is reserved and shown as a space
        (b"AB\x1b", "AB"),  # a lone trailing ESC is dropped
        (b"", ""),
    ],
)
def test_decode_unassigned_escapes(septets: bytes, text: str) -> None:
    assert decode_gsm7(septets) == text


@given(gsm7_text)
def test_round_trip(text: str) -> None:
    encoded = encode_gsm7(text)
    assert decode_gsm7(encoded) == text
    assert len(encoded) == septet_length(text)
    assert all(octet <= 0x7F for octet in encoded)


@given(st.text())
def test_is_gsm7_agrees_with_encode(text: str) -> None:
    try:
        encode_gsm7(text)
    except Gsm7Error:
        assert not is_gsm7(text)
    else:
        assert is_gsm7(text)


@given(st.binary())
def test_decode_arbitrary_octets_raises_only_gsm7_error(septets: bytes) -> None:
    try:
        text = decode_gsm7(septets)
    except Gsm7Error:
        assert any(octet > 0x7F for octet in septets)
    else:
        assert is_gsm7(text)
