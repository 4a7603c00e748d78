"""``translit=1`` and ``translit=2`` tables (domain/translit.py, http-api.md §2.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.gsm7 import is_gsm7
from smsgate.domain.translit import (
    LOOKALIKE_LOWER,
    LOOKALIKE_UPPER,
    TRANSLIT_LOWER,
    TranslitMode,
    translit,
)

# The tables exactly as http-api.md §2.3 writes them, "letter latin" pairs separated by commas.
SPEC_MODE_1 = (
    "а a, б b, в v, г g, д d, е e, ё yo, ж zh, з z, и i, й j, к k, л l, м m, н n, о o, п p, р r, "
    "с s, т t, у u, ф f, х h, ц c, ч ch, ш sh, щ sch, ъ \", ы y, ь ', э e, ю yu, я ya, і i, ї yi, "
    "є ye, ґ g"
)
SPEC_MODE_2 = (
    "а a, б 6, в B, г r, д g, е e, ё e, ж >|<, з 3, и u, й u, к k, л JI, м M, н H, о o, п n, р p, "
    "с c, т m, у y, ф qp, х x, ц LL, ч 4, ш LLI, щ LLL, ъ 'b, ы bI, ь b, э 3, ю IO, я 9I"
)
SPEC_MODE_2_CAPITALS = (
    "А A, В B, Д D, Е E, Ё E, И U, Й U, К K, М M, Н H, О O, Р P, С C, Т T, У Y, Х X"
)

RUSSIAN_LOWER = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
russian_text = st.text(
    alphabet=st.sampled_from(list(RUSSIAN_LOWER + RUSSIAN_LOWER.upper() + " .,"))
)


def _pairs(spec: str) -> list[tuple[str, str]]:
    return [(item[0], item[2:]) for item in spec.split(", ")]


def test_mode_1_table_is_the_spec_table() -> None:
    assert dict(TRANSLIT_LOWER) == dict(_pairs(SPEC_MODE_1))


def test_mode_2_tables_are_the_spec_tables() -> None:
    assert dict(LOOKALIKE_LOWER) == dict(_pairs(SPEC_MODE_2))
    assert dict(LOOKALIKE_UPPER) == dict(_pairs(SPEC_MODE_2_CAPITALS))


@pytest.mark.parametrize(("letter", "latin"), _pairs(SPEC_MODE_1))
def test_mode_1_every_lowercase_letter(letter: str, latin: str) -> None:
    assert translit(letter, 1) == latin


@pytest.mark.parametrize(("letter", "latin"), _pairs(SPEC_MODE_1))
def test_mode_1_capitals_give_the_capitalised_result(letter: str, latin: str) -> None:
    assert translit(letter.upper(), 1) == latin.capitalize()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Щ", "Sch"),
        ("Щука", "Schuka"),
        ("ЩИ", "SchI"),  # each capital is capitalised on its own
        ("Ёлка", "Yolka"),
        ("Юля", "Yulya"),
        ("Объём", 'Ob"yom'),
        ("ЪЬ", "\"'"),
        ("Їжак і Ґанок", "Yizhak i Ganok"),
        ("Привет, мир!", "Privet, mir!"),
        ("Код: 1234", "Kod: 1234"),
        ("mixed Latin и кириллица", "mixed Latin i kirillica"),
        ("ẞ ç 😀", "ẞ ç 😀"),  # not in the table: passes through
    ],
)
def test_mode_1_words(text: str, expected: str) -> None:
    assert translit(text, TranslitMode.TRANSLIT) == expected


@pytest.mark.parametrize(("letter", "latin"), _pairs(SPEC_MODE_2))
def test_mode_2_every_lowercase_letter(letter: str, latin: str) -> None:
    assert translit(letter, 2) == latin


@pytest.mark.parametrize(("capital", "latin"), _pairs(SPEC_MODE_2_CAPITALS))
def test_mode_2_listed_capitals(capital: str, latin: str) -> None:
    assert translit(capital, 2) == latin


@pytest.mark.parametrize(
    ("capital", "latin"),
    [
        (letter.upper(), latin)
        for letter, latin in _pairs(SPEC_MODE_2)
        if letter.upper() not in dict(_pairs(SPEC_MODE_2_CAPITALS))
    ],
)
def test_mode_2_other_capitals_use_the_lowercase_mapping(capital: str, latin: str) -> None:
    assert translit(capital, 2) == latin


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("транс", "mpaHc"),  # the spec's example
        ("Жук", ">|<yk"),
        ("ЩИТ", "LLLUT"),
        ("Ёж", "E>|<"),
        ("і ї є ґ", "і ї є ґ"),  # Ukrainian letters are not in the mode 2 table
    ],
)
def test_mode_2_words(text: str, expected: str) -> None:
    assert translit(text, TranslitMode.LOOKALIKE) == expected


@given(st.text())
def test_mode_0_is_identity(text: str) -> None:
    assert translit(text, 0) == text


@given(st.text(alphabet=st.characters(max_codepoint=0x3FF)))
def test_non_cyrillic_text_passes_through(text: str) -> None:
    assert translit(text, 1) == text
    assert translit(text, 2) == text


@given(russian_text)
def test_russian_text_becomes_gsm7_in_both_modes(text: str) -> None:
    for mode in (1, 2):
        result = translit(text, mode)
        assert is_gsm7(result)
        assert not set(result) & set(RUSSIAN_LOWER + RUSSIAN_LOWER.upper())


@pytest.mark.parametrize("mode", [-1, 3, 10])
def test_unknown_mode_is_rejected(mode: int) -> None:
    with pytest.raises(ValueError):
        translit("abc", mode)
