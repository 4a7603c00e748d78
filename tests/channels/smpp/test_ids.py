"""normalise_id (channels/smpp/ids.py): provider message ids in one form, whichever way the SMSC
writes them — hex or decimal, any case, with or without leading zeros (field-notes.md, #418)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.channels.smpp.ids import normalise_id
from smsgate.channels.smpp.settings import IdFormat

DECIMAL, HEX, TEXT = IdFormat.DECIMAL, IdFormat.HEX, IdFormat.TEXT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1A", "26"),  # upper case
        ("1a", "26"),  # lower case
        ("1aB2", str(0x1AB2)),  # mixed case
        ("0001A", "26"),  # leading zeros
        ("26", "38"),  # only digits: still read as hex
        ("0", "0"),
        ("0000", "0"),
        (" \t1a\r\n", "26"),  # trimmed
        ("FFFFFFFFFFFFFFFFFFFFFFFF", str(2**96 - 1)),  # wider than 64 bits
    ],
)
def test_hex_ids_become_the_decimal_digits_of_their_value(raw: str, expected: str) -> None:
    assert normalise_id(raw, HEX) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("26", "26"),
        ("00026", "26"),  # leading zeros
        ("0", "0"),
        ("000", "0"),
        ("  42 \n", "42"),  # trimmed
        ("0" * 30 + "12345678901234567890123", "12345678901234567890123"),  # wider than 64 bits
    ],
)
def test_decimal_ids_lose_their_leading_zeros(raw: str, expected: str) -> None:
    assert normalise_id(raw, DECIMAL) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00AB12", "ab12"),  # the module docstring's example
        ("AbC-Def", "abc-def"),  # lower-cased, nothing else changed
        ("abc", "abc"),
        ("0001A", "1a"),  # not read as a number: zeros stripped, case folded
        ("26", "26"),
        ("0026", "26"),
        ("0", "0"),  # all zeros keep one
        ("0000", "0"),
        ("  0x1F \t", "x1f"),  # trimmed before the zeros go
        ("100", "100"),  # only leading zeros go
        ("ÄBC", "äbc"),  # non-ASCII letters are lower-cased as well
    ],
)
def test_text_ids_are_lower_cased_and_zero_stripped(raw: str, expected: str) -> None:
    assert normalise_id(raw, TEXT) == expected


@pytest.mark.parametrize(
    ("submit_id", "submit_form", "receipt_id", "receipt_form"),
    [
        ("0001A", HEX, "26", DECIMAL),  # hex in submit_sm_resp, decimal in the receipt
        ("26", DECIMAL, "1a", HEX),  # and the reverse
        ("00000026", DECIMAL, "0000001A", HEX),  # zero-padded on both sides
        ("3B9ACA00", HEX, "1000000000", DECIMAL),
        ("ff", HEX, "255", DECIMAL),
        ("00ab12", TEXT, "AB12", TEXT),  # text quoted in another case and padding
    ],
)
def test_the_two_sides_of_one_message_meet(
    submit_id: str, submit_form: IdFormat, receipt_id: str, receipt_form: IdFormat
) -> None:
    assert normalise_id(submit_id, submit_form) == normalise_id(receipt_id, receipt_form)


def test_different_ids_stay_different() -> None:
    assert normalise_id("1A", HEX) != normalise_id("1A", TEXT)  # 26 versus 1a
    assert normalise_id("10", HEX) != normalise_id("10", DECIMAL)  # 16 versus 10
    assert normalise_id("0010", DECIMAL) != normalise_id("0100", DECIMAL)


@pytest.mark.parametrize(
    ("raw", "form", "expected"),
    [
        # Not decimal: the text form, so a receipt quoting it the same way still matches.
        ("12a", DECIMAL, "12a"),
        ("00AB", DECIMAL, "ab"),
        ("-5", DECIMAL, "-5"),
        ("+5", DECIMAL, "+5"),
        ("1_000", DECIMAL, "1_000"),  # int() would take the underscore; the id is not a number
        ("12 34", DECIMAL, "12 34"),
        ("１２", DECIMAL, "１２"),  # fullwidth digits: isdigit() but not ASCII
        ("٣", DECIMAL, "٣"),  # Arabic-Indic digit
        ("²", DECIMAL, "²"),  # a superscript is a digit to str.isdigit(), not to int()
        # Not hex.
        ("0x1A", HEX, "x1a"),  # a 0x prefix is not part of the hex format
        ("1G", HEX, "1g"),
        ("1A-2B", HEX, "1a-2b"),
        ("Ａ", HEX, "ａ"),  # fullwidth letter
        # Nothing at all.
        ("", DECIMAL, ""),
        ("", HEX, ""),
        ("", TEXT, ""),
        ("   ", DECIMAL, ""),
        ("\t\n", HEX, ""),
        (" ", TEXT, ""),
    ],
)
def test_junk_falls_back_to_the_text_form(raw: str, form: IdFormat, expected: str) -> None:
    assert normalise_id(raw, form) == expected
    assert normalise_id(raw, form) == normalise_id(raw, TEXT)


@given(
    value=st.integers(min_value=0, max_value=2**80),
    hex_zeros=st.integers(min_value=0, max_value=6),
    dec_zeros=st.integers(min_value=0, max_value=6),
    upper=st.booleans(),
)
def test_any_value_written_in_hex_meets_itself_written_in_decimal(
    value: int, hex_zeros: int, dec_zeros: int, upper: bool
) -> None:
    as_hex = "0" * hex_zeros + format(value, "X" if upper else "x")
    as_decimal = "0" * dec_zeros + str(value)
    assert normalise_id(as_hex, HEX) == normalise_id(as_decimal, DECIMAL) == str(value)


@given(st.text(max_size=30))
def test_any_text_gives_an_id_and_never_raises(raw: str) -> None:
    for form in IdFormat:
        normalised = normalise_id(raw, form)
        assert isinstance(normalised, str)
        assert normalised == normalised.lower()
        assert bool(normalised) == bool(raw.strip())  # an id is never lost, nor made up


def test_the_text_form_is_trimmed_after_the_zeros_go() -> None:
    """ "Trimmed, lower-cased, leading zeros dropped" (ids.py): whitespace that dropping the zeros
    uncovers is trimmed too, so that the canonical form of a canonical form is itself."""
    assert normalise_id("000 abc", TEXT) == "abc"
    once = normalise_id("00 7", TEXT)
    assert normalise_id(once, TEXT) == once
