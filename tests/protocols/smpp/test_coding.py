"""data_coding ↔ alphabet, and text ↔ octets for each alphabet."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.gsm7 import GSM7_CHARS, encode_gsm7
from smsgate.protocols.smpp.coding import (
    Alphabet,
    TextCodingError,
    alphabet_of,
    best_alphabet,
    decode_text,
    encode_text,
    message_class,
)
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError

A = Alphabet


@pytest.mark.parametrize(
    ("data_coding", "alphabet"),
    [
        (0x00, A.GSM7),
        (0x01, A.ASCII),
        (0x02, A.BINARY),
        (0x03, A.LATIN1),
        (0x04, A.BINARY),
        (0x08, A.UCS2),
        (0x10, A.GSM7),
        (0x14, A.BINARY),
        (0x18, A.UCS2),
        (0xC0, A.GSM7),
        (0xE8, A.UCS2),
        (0xF0, A.GSM7),
        (0xF4, A.BINARY),
    ],
)
def test_alphabets(data_coding: int, alphabet: Alphabet) -> None:
    assert alphabet_of(data_coding) is alphabet


@pytest.mark.parametrize("data_coding", [0x05, 0x06, 0x0E, 0x1C, 0x20, 0x3F, 0x80, 0xBF])
def test_unsupported_data_coding(data_coding: int) -> None:
    with pytest.raises(SmppError) as caught:
        alphabet_of(data_coding)
    assert caught.value.status == CommandStatus.ESME_RINVDCS


def test_flash_class() -> None:
    assert [message_class(d) for d in (0x00, 0x10, 0x18, 0xF0, 0xF1)] == [None, 0, 0, 0, 1]


gsm_text = st.text(st.sampled_from(sorted(GSM7_CHARS)))


@given(gsm_text)
def test_gsm7_round_trip_matches_the_domain_encoder(text: str) -> None:
    encoded = encode_text(text, A.GSM7)
    assert encoded == encode_gsm7(text)
    assert decode_text(encoded, A.GSM7) == text


@given(st.text())
def test_ucs2_round_trip_with_surrogate_pairs(text: str) -> None:
    text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
    encoded = encode_text(text, A.UCS2)
    assert decode_text(encoded, A.UCS2) == text


def test_astral_character_is_a_surrogate_pair() -> None:
    assert encode_text("😀", A.UCS2) == bytes.fromhex("d83dde00")


@given(st.text(st.characters(max_codepoint=255)))
def test_latin1_round_trip(text: str) -> None:
    assert decode_text(encode_text(text, A.LATIN1), A.LATIN1) == text


@pytest.mark.parametrize(
    ("octets", "alphabet"),
    [(b"\x80", A.GSM7), (b"\x1b\x80", A.GSM7), (b"\x00", A.UCS2), (b"\xd8\x3d", A.UCS2)],
)
def test_undecodable_octets(octets: bytes, alphabet: Alphabet) -> None:
    with pytest.raises(SmppError) as caught:
        decode_text(octets, alphabet)
    assert caught.value.status == CommandStatus.ESME_RINVMSGLEN


@pytest.mark.parametrize(("text", "alphabet"), [("Ж", A.GSM7), ("é", A.ASCII), ("Ж", A.LATIN1)])
def test_text_the_alphabet_cannot_carry(text: str, alphabet: Alphabet) -> None:
    with pytest.raises(TextCodingError):
        encode_text(text, alphabet)


def test_best_alphabet() -> None:
    assert best_alphabet("Hello {€}") is A.GSM7
    assert best_alphabet("Привет") is A.UCS2
