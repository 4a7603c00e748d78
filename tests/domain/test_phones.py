"""Recipient lists (domain/phones.py, http-api.md §1.6 and §2.5)."""

from __future__ import annotations

from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.domain.numbering import NumberingPlan, parse_registry
from smsgate.domain.phones import (
    InvalidReason,
    PhoneFormatError,
    RecipientList,
    Token,
    TokenKind,
    normalise,
    parse_email_list,
    parse_phones,
    split_list,
)

DEMO_PLAN = NumberingPlan(
    parse_registry(
        (files("smsgate") / "data" / "numbering-demo.csv")
        .read_text(encoding="utf-8")
        .splitlines(keepends=True)
    )
)

DIGITS = "0123456789"
IGNORED = " \t\u00a0-()."


def _accept_all(number: str) -> bool:
    return True


def _reject_all(number: str) -> bool:
    return False


# --- split_list ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("", []),
        ("  ", []),
        ("a", ["a"]),
        ("a,b;c\nd\re\r\nf", ["a", "b", "c", "d", "e", "f"]),
        (" a , ;; b \n\n", ["a", "b"]),
        ("+7 916 123 45 67", ["+7 916 123 45 67"]),
        ("a\tb", ["a\tb"]),
    ],
)
def test_split_list_separators_are_comma_semicolon_and_line_breaks(
    text: str, items: list[str]
) -> None:
    assert list(split_list(text)) == items


# --- normalise: cleaning and auto-correction ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("79161234567", "79161234567"),
        ("+79161234567", "79161234567"),
        ("+7 (916) 123-45-67", "79161234567"),
        ("+7.916.123.45.67", "79161234567"),
        ("(+7) 916 123\t45\u00a067", "79161234567"),
        ("89161234567", "79161234567"),
        ("8 (916) 123-45-67", "79161234567"),
        ("9161234567", "79161234567"),
        ("916-123-45-67", "79161234567"),
        ("0079161234567", "79161234567"),
        ("00 49 151 1234 5678", "4915112345678"),
        ("+4915112345678", "4915112345678"),
        ("380501234567", "380501234567"),
        # "00" is the international prefix: nothing else is corrected after it.
        ("0089161234567", "89161234567"),
        # With "+" the digits are taken as given.
        ("+89161234567", "89161234567"),
        ("+9161234567", "9161234567"),
        # The corrections apply to exactly 11 digits starting with 8 / 10 starting with 9.
        ("8916123456", "8916123456"),
        ("891612345678", "891612345678"),
        ("916123456", "916123456"),
        ("91612345678", "91612345678"),
        ("1234567", "1234567"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_normalise(raw: str, number: str) -> None:
    assert normalise(raw) == number


@pytest.mark.parametrize(
    ("raw", "reason", "digits"),
    [
        ("", InvalidReason.LENGTH, ""),
        ("+", InvalidReason.LENGTH, ""),
        ("( )", InvalidReason.LENGTH, ""),
        ("123456", InvalidReason.LENGTH, "123456"),
        ("+123456", InvalidReason.LENGTH, "123456"),
        ("1234567890123456", InvalidReason.LENGTH, "1234567890123456"),
        ("00123456", InvalidReason.LENGTH, "123456"),
        ("0123456789", InvalidReason.COUNTRY_CODE, "0123456789"),
        ("+0123456789", InvalidReason.COUNTRY_CODE, "0123456789"),
        ("0001234567", InvalidReason.COUNTRY_CODE, "01234567"),
        ("abc", InvalidReason.CHARACTERS, ""),
        ("7916a234567", InvalidReason.CHARACTERS, ""),
        ("++79161234567", InvalidReason.CHARACTERS, ""),
        ("79161234567+", InvalidReason.CHARACTERS, ""),
        ("7916/1234567", InvalidReason.CHARACTERS, ""),
        ("user@example.com", InvalidReason.CHARACTERS, ""),
        ("G12x", InvalidReason.CHARACTERS, ""),
        # Only ASCII digits count: Arabic-Indic and full-width digits are not numbers here.
        (
            "\u0667\u0669\u0661\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
            InvalidReason.CHARACTERS,
            "",
        ),
        (
            "\uff17\uff19\uff11\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
            InvalidReason.CHARACTERS,
            "",
        ),
        ("7916123456\u00b2", InvalidReason.CHARACTERS, ""),
    ],
)
def test_normalise_rejects(raw: str, reason: InvalidReason, digits: str) -> None:
    with pytest.raises(PhoneFormatError) as caught:
        normalise(raw)
    assert caught.value.reason is reason
    assert caught.value.digits == digits
    assert caught.value.raw == raw


def test_phone_format_error_is_a_value_error_naming_the_reason() -> None:
    error = PhoneFormatError("12", InvalidReason.LENGTH, "12")
    assert isinstance(error, ValueError)
    assert "'12'" in str(error) and "length" in str(error)


def test_ambiguous_numbers_must_be_renormalised_with_plus() -> None:
    # A Vietnamese mobile given with "+" …
    vietnam = normalise("+84 912 345 678")
    assert vietnam == "84912345678"
    # … is read as Russian when it comes back without "+", exactly as §1.6 reads a client's input.
    assert normalise(vietnam) == "74912345678"
    assert normalise("+" + vietnam) == vietnam
    maldives = normalise("+960 777 1234")
    assert normalise(maldives) == "79607771234"
    assert normalise("+" + maldives) == maldives


# --- parse_phones -------------------------------------------------------------------------------


def test_parse_phones_reports_every_item_in_order() -> None:
    result = parse_phones(
        "+7 (916) 123-45-67, 89161234567; G12\nabc\r\n123, 79261234567, g012, abc",
        _accept_all,
    )
    assert result.tokens == (
        Token("+7 (916) 123-45-67", TokenKind.VALID, "79161234567"),
        Token("89161234567", TokenKind.DUPLICATE, "79161234567"),
        Token("G12", TokenKind.GROUP, "12"),
        Token("abc", TokenKind.INVALID, "", InvalidReason.CHARACTERS),
        Token("123", TokenKind.INVALID, "123", InvalidReason.LENGTH),
        Token("79261234567", TokenKind.VALID, "79261234567"),
        Token("g012", TokenKind.DUPLICATE, "12"),
        Token("abc", TokenKind.DUPLICATE, "", InvalidReason.CHARACTERS),
    )
    assert result.valid == ("79161234567", "79261234567")
    assert result.groups == (12,)
    assert [token.raw for token in result.invalid] == ["abc", "123"]


def test_duplicates_are_sent_once_keeping_first_occurrence_order() -> None:
    result = parse_phones(
        "79261234567, 9161234567, +79261234567, 0079161234567, 8 926 123-45-67", _accept_all
    )
    assert result.valid == ("79261234567", "79161234567")
    assert [token.kind for token in result.tokens] == [
        TokenKind.VALID,
        TokenKind.VALID,
        TokenKind.DUPLICATE,
        TokenKind.DUPLICATE,
        TokenKind.DUPLICATE,
    ]


def test_invalid_items_are_deduplicated_by_what_is_left_of_them() -> None:
    result = parse_phones("12-34, 1234, (12)34, 12345", _accept_all)
    assert [token.kind for token in result.tokens] == [
        TokenKind.INVALID,
        TokenKind.DUPLICATE,
        TokenKind.DUPLICATE,
        TokenKind.INVALID,
    ]
    assert [token.value for token in result.invalid] == ["1234", "12345"]


def test_numbering_plan_rejection_keeps_the_normalised_number() -> None:
    result = parse_phones("89161234567", _reject_all)
    assert result.tokens == (
        Token("89161234567", TokenKind.INVALID, "79161234567", InvalidReason.NUMBERING_PLAN),
    )
    assert result.valid == ()


def test_the_plan_check_runs_once_per_distinct_number() -> None:
    checked: list[str] = []

    def check(number: str) -> bool:
        checked.append(number)
        return number.startswith("7")

    result = parse_phones("79161234567, +79161234567, 380501234567, 380501234567", check)
    assert checked == ["79161234567", "380501234567"]
    assert result.valid == ("79161234567",)
    assert [token.kind for token in result.tokens] == [
        TokenKind.VALID,
        TokenKind.DUPLICATE,
        TokenKind.INVALID,
        TokenKind.DUPLICATE,
    ]


def test_the_plan_check_is_not_called_for_malformed_items_or_groups() -> None:
    checked: list[str] = []

    def check(number: str) -> bool:
        checked.append(number)
        return True

    parse_phones("abc, 12, G5, +0123456789", check)
    assert checked == []


@pytest.mark.parametrize(
    ("raw", "group"),
    [("G1", 1), ("g1", 1), ("G007", 7), ("G 12", 12), ("G123456789012345678", 123456789012345678)],
)
def test_group_references(raw: str, group: int) -> None:
    result = parse_phones(raw, _reject_all)
    assert result.groups == (group,)
    assert result.tokens[0].kind is TokenKind.GROUP


@pytest.mark.parametrize("raw", ["G", "GG1", "G1a", "G-", "G1234567890123456789", "H1", "G+1"])
def test_malformed_group_references_are_invalid(raw: str) -> None:
    result = parse_phones(raw, _accept_all)
    assert result.groups == ()
    assert result.tokens[0].kind is TokenKind.INVALID


def test_groups_and_numbers_do_not_collide() -> None:
    result = parse_phones("G1234567, 1234567", _accept_all)
    assert result.groups == (1234567,)
    assert result.valid == ("1234567",)


def test_empty_list_gives_no_tokens() -> None:
    assert parse_phones(" , ;\n", _accept_all) == RecipientList(())


def test_default_check_is_phonenumbers_validity() -> None:
    result = parse_phones("+4915112345678, +1 212 555 1234, +7 000 000 00 00, +999 1234567")
    assert result.valid == ("4915112345678", "12125551234")
    assert [token.reason for token in result.invalid] == [
        InvalidReason.NUMBERING_PLAN,
        InvalidReason.NUMBERING_PLAN,
    ]


def test_with_a_numbering_plan() -> None:
    result = parse_phones(
        # in 916's range; 903 gap (plan covers 903); 74951234567 is outside the plan (landline,
        # phonenumbers decides); Germany.
        "89161234567, 79032500000, 8 495 123-45-67, +49 151 1234 5678",
        DEMO_PLAN.is_valid,
    )
    assert result.valid == ("79161234567", "74951234567", "4915112345678")
    assert result.invalid == (
        Token("79032500000", TokenKind.INVALID, "79032500000", InvalidReason.NUMBERING_PLAN),
    )


def test_tokens_are_frozen_values() -> None:
    token = Token("1", TokenKind.INVALID)
    with pytest.raises(AttributeError):
        token.raw = "2"  # type: ignore[misc]  # proving the dataclass is frozen


# --- parse_email_list ---------------------------------------------------------------------------


def test_parse_email_list() -> None:
    result = parse_email_list(
        "user@Example.COM; User@example.com\nG3, not-an-address, a.b+tag@mail.example.ru"
    )
    assert result.tokens == (
        Token("user@Example.COM", TokenKind.VALID, "user@example.com"),
        Token("User@example.com", TokenKind.DUPLICATE, "user@example.com"),
        Token("G3", TokenKind.GROUP, "3"),
        Token("not-an-address", TokenKind.INVALID, "", InvalidReason.ADDRESS),
        Token("a.b+tag@mail.example.ru", TokenKind.VALID, "a.b+tag@mail.example.ru"),
    )
    assert result.valid == ("user@example.com", "a.b+tag@mail.example.ru")
    assert result.groups == (3,)


@pytest.mark.parametrize(
    "raw",
    [
        "a@b",
        "@b.ru",
        "a@",
        "a@.ru",
        "a@b.ru.",
        "a@@b.ru",
        "a b@c.ru",
        "Name <a@b.ru>",
        "<a@b.ru>",
        '"a"@b.ru',
        "a@b:ru.ru",
        "x" * 65 + "@b.ru",
        "a@" + "b" * 250 + ".ru",
    ],
)
def test_invalid_email_addresses(raw: str) -> None:
    result = parse_email_list(raw)
    assert result.tokens == (Token(raw, TokenKind.INVALID, "", InvalidReason.ADDRESS),)


@pytest.mark.parametrize(
    "raw", ["a@b.ru", "x" * 64 + "@b.ru", "почта@пример.рф", "a@sub.domain.example"]
)
def test_valid_email_addresses(raw: str) -> None:
    assert parse_email_list(raw).valid == (raw,)


# --- properties ---------------------------------------------------------------------------------

number_like = st.text(alphabet=st.sampled_from(list(DIGITS + IGNORED + "+G")), max_size=30)


def _is_ambiguous(number: str) -> bool:
    """Numbers that §1.6's auto-correction reads differently when they come without "+"."""
    return (len(number) == 11 and number[0] == "8") or (len(number) == 10 and number[0] == "9")


@given(st.one_of(number_like, st.text(max_size=40)))
def test_normalise_raises_only_phone_format_error(raw: str) -> None:
    try:
        number = normalise(raw)
    except PhoneFormatError:
        return
    assert 7 <= len(number) <= 15
    assert set(number) <= set(DIGITS)
    assert number[0] != "0"


@given(number_like)
def test_normalisation_is_idempotent(raw: str) -> None:
    try:
        number = normalise(raw)
    except PhoneFormatError:
        return
    assert normalise("+" + number) == number
    if not _is_ambiguous(number):
        assert normalise(number) == number


@given(
    st.text(alphabet=st.sampled_from(list(DIGITS)), min_size=6, max_size=14).map(lambda d: "1" + d),
    st.data(),
)
def test_formatting_characters_do_not_change_the_number(digits: str, data: st.DataObject) -> None:
    chars = list(digits)
    for _ in range(data.draw(st.integers(0, 6))):
        position = data.draw(st.integers(0, len(chars)))
        chars.insert(position, data.draw(st.sampled_from(list(IGNORED))))
    formatted = "".join(chars)
    assert normalise("+" + formatted) == digits
    assert normalise(formatted) == digits  # starts with 1: no auto-correction applies


@settings(deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(number_like, max_size=8).map(",".join)))
def test_parse_phones_never_raises(text: str) -> None:
    result = parse_phones(text, DEMO_PLAN.is_valid)
    assert len(result.valid) == len(set(result.valid))
    assert all(token.raw and token.raw == token.raw.strip() for token in result.tokens)
    for token in result.tokens:
        if token.kind in (TokenKind.VALID, TokenKind.GROUP):
            assert token.reason is None
        if token.kind is TokenKind.INVALID:
            assert token.reason is not None
    for number in result.valid:
        assert normalise("+" + number) == number


@settings(deadline=None)
@given(st.lists(number_like, max_size=8).map(",".join))
def test_default_plan_check_never_raises(text: str) -> None:
    parse_phones(text)


@given(st.text(max_size=200))
def test_parse_email_list_never_raises(text: str) -> None:
    result = parse_email_list(text)
    assert all("@" in address for address in result.valid)
