"""The numbering plan (domain/numbering.py; DESIGN.md "Numbers", http-api.md §1.6 and §11)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.domain.numbering import (
    Carrier,
    NumberInfo,
    NumberingPlan,
    NumberRange,
    RegistryFormatError,
    carrier_for,
    is_plausible,
    parse_registry,
    region_tz,
    short_operator_name,
)

REGISTRY = Path(__file__).parents[2].parent / "shared" / "data" / "DEF-9xx.csv"
HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион;ИНН\n"
WINTER = datetime(2025, 1, 15, 12, tzinfo=UTC)
SUMMER = datetime(2025, 7, 15, 12, tzinfo=UTC)


def _demo_lines() -> list[str]:
    text = (files("smsgate") / "data" / "numbering-demo.csv").read_text(encoding="utf-8")
    return text.splitlines(keepends=True)


@pytest.fixture(scope="module")
def demo_plan() -> NumberingPlan:
    return NumberingPlan(parse_registry(_demo_lines()))


def _range(code: int, start: int, end: int, operator: str = "МТС") -> NumberRange:
    return NumberRange(code, start, end, operator, "", "250", "01")


# --- parse_registry -----------------------------------------------------------------------------


def test_demo_table_is_small_and_in_registry_format() -> None:
    lines = _demo_lines()
    assert lines[0].startswith("\ufeff")
    ranges = list(parse_registry(lines))
    assert 10 <= len(ranges) <= 30
    assert len(ranges) == len(lines) - 1
    assert ranges[0] == NumberRange(
        900, 2290000, 2989999, "Tele2", "Краснодарский край", "250", "20"
    )


def test_parses_bom_header_quotes_and_whitespace() -> None:
    lines = [
        "\ufeff" + HEADER,
        ' 916 ; 0 ;9999999; 10000000 ;"ПАО ""Мобильные  ТелеСистемы""";  г. Москва   и МО ;7740000076\n',
    ]
    assert list(parse_registry(lines)) == [
        NumberRange(916, 0, 9999999, "МТС", "г. Москва и МО", "250", "01")
    ]


def test_header_is_optional_and_inn_column_too() -> None:
    lines = [
        "926;0;9999999;10000000;ПАО МегаФон;Москва",
        "",
        "   ",
        "921;3000000;4499999;1500000;X;",
    ]
    assert list(parse_registry(lines)) == [
        NumberRange(926, 0, 9999999, "МегаФон", "Москва", "250", "02"),
        NumberRange(921, 3000000, 4499999, "X", "", "", ""),
    ]


def test_accepts_lines_with_any_line_ends() -> None:
    text = HEADER + "916;0;9;10;МТС;Москва;1\r\n903;0;9;10;Билайн;Москва;1\r\n"
    for lines in (text.splitlines(), text.splitlines(keepends=True)):
        assert [item.prefix_code for item in parse_registry(lines)] == [916, 903]


def test_empty_input_gives_no_ranges() -> None:
    assert list(parse_registry([])) == []
    assert list(parse_registry(["\ufeff" + HEADER])) == []


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("916;0;9;10;МТС", "expected 6 or 7"),
        ("916;0;9;10;МТС;Москва;1;extra", "expected 6 or 7"),
        ("916;0;nine;10;МТС;Москва;1", "to 'nine' is not a number"),
        ("916;-1;9;11;МТС;Москва;1", "from '-1' is not a number"),
        ("9x6;0;9;10;МТС;Москва;1", "code '9x6' is not a number"),
        ("916;0;9;;МТС;Москва;1", "capacity '' is not a number"),
        ("916;0;9;11;МТС;Москва;1", "capacity 11 does not match range 0..9"),
        ("916;0;9;10;  ;Москва;1", "empty operator"),
        ("916;9;0;-8;МТС;Москва;1", "capacity '-8' is not a number"),
        ("916;5;0;0;МТС;Москва;1", "range 5..0"),
        ("9160;0;9;10;МТС;Москва;1", "code 9160"),
        ("16;0;9;10;МТС;Москва;1", "code 16"),
        ("916;0;10000000;10000001;МТС;Москва;1", "range 0..10000000"),
        ("916;0;1234567890;1234567891;МТС;Москва;1", "to '1234567890' is not a number"),
        ("916;٠;9;10;МТС;Москва;1", "from '٠' is not a number"),
        ("916;0;9;10;МТС;Моск\rва;1", "CSV syntax"),
    ],
)
def test_malformed_rows_name_their_line(row: str, problem: str) -> None:
    lines = [HEADER, "", "903;0;9;10;Билайн;Москва;1", row, "926;0;9;10;МегаФон;Москва;1"]
    parsed = parse_registry(lines)
    assert next(parsed).prefix_code == 903  # rows before the bad one have been yielded
    with pytest.raises(RegistryFormatError) as caught:
        next(parsed)
    assert caught.value.line_number == 4
    assert problem in caught.value.problem
    assert str(caught.value).startswith("numbering registry line 4: ")


def test_a_second_header_is_an_error() -> None:
    with pytest.raises(RegistryFormatError) as caught:
        list(parse_registry([HEADER, HEADER]))
    assert caught.value.line_number == 2


def test_line_numbers_count_physical_lines_of_quoted_fields() -> None:
    lines = ['916;0;9;10;"МТС\n', 'Москва";Москва;1\n', "916;x;9;10;МТС;Москва;1\n"]
    with pytest.raises(RegistryFormatError) as caught:
        list(parse_registry(lines))
    assert caught.value.line_number == 3


def test_registry_format_error_is_a_value_error() -> None:
    assert issubclass(RegistryFormatError, ValueError)


range_rows = st.builds(
    lambda code, start, size, operator: (code, start, min(start + size, 9_999_999), operator),
    st.integers(100, 999),
    st.integers(0, 9_999_999),
    st.integers(0, 10_000_000),
    st.sampled_from(['ПАО ""МегаФон""', "ООО Ромашка", "Летай", "x"]),
)


@given(range_rows)
def test_formatted_rows_parse_back(row: tuple[int, int, int, str]) -> None:
    code, start, end, operator = row
    line = f'{code};{start};{end};{end - start + 1};"{operator}";Регион;1\n'
    (parsed,) = parse_registry([line])
    assert (parsed.prefix_code, parsed.start, parsed.end) == (code, start, end)
    assert parsed.operator == carrier_for(operator.replace('""', '"')).name


@given(st.lists(st.text(max_size=60), max_size=6))
def test_arbitrary_input_raises_only_registry_format_error(lines: list[str]) -> None:
    try:
        ranges = list(parse_registry(lines))
    except RegistryFormatError as error:
        assert error.line_number >= 1
        return
    for item in ranges:
        assert item.first <= item.last


row_like = st.lists(
    st.one_of(st.integers(-5, 10**10).map(str), st.text(max_size=8)), min_size=0, max_size=8
).map(";".join)


@given(st.lists(row_like, max_size=5))
def test_row_shaped_input_raises_only_registry_format_error(lines: list[str]) -> None:
    with contextlib.suppress(RegistryFormatError):
        list(parse_registry(lines))


# --- operators, names, time zones ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "carrier"),
    [
        ('ПАО "Мобильные ТелеСистемы"', Carrier("МТС", "250", "01")),
        ('ПАО "МегаФон"', Carrier("МегаФон", "250", "02")),
        ('ООО "Т2 Мобайл"', Carrier("Tele2", "250", "20")),
        ('АО "Теле2-Санкт-Петербург"', Carrier("Tele2", "250", "20")),
        ('ПАО "Вымпел-Коммуникации"', Carrier("Билайн", "250", "99")),
        ('ООО "Скартел"', Carrier("Yota", "250", "11")),
        ('ООО "Тинькофф Мобайл"', Carrier("Т-Мобайл", "250", "62")),
        ('ПАО "Ростелеком"', Carrier("Ростелеком", "250", "39")),
        ('ООО "ЕКАТЕРИНБУРГ-2000"', Carrier("Мотив", "250", "35")),
        ('ООО "КТК ТЕЛЕКОМ"', Carrier("Волна мобайл", "250", "60")),
        ('ООО "К-телеком"', Carrier("Win Mobile", "250", "32")),
        ('ПАО "Таттелеком"', Carrier("Летай", "250", "27")),
        ("Beeline", Carrier("Билайн", "250", "99")),
        ("билайн", Carrier("Билайн", "250", "99")),
        ("MTS", Carrier("МТС", "250", "01")),
        ("  мегафон ", Carrier("МегаФон", "250", "02")),
        # Unknown operators keep their short name and get no codes.
        ('ООО "Сбербанк-Телеком"', Carrier("Сбербанк-Телеком", "", "")),
        ('ОАО "МТТ"', Carrier("МТТ", "", "")),
        ('ООО "ЭР-Телеком Холдинг"', Carrier("ЭР-Телеком Холдинг", "", "")),
        ("", Carrier("", "", "")),
    ],
)
def test_carrier_for(operator: str, carrier: Carrier) -> None:
    assert carrier_for(operator) == carrier


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ('ПАО "МегаФон"', "МегаФон"),
        ('ООО ИК "СИБИНТЕК"', "СИБИНТЕК"),
        ("ФГУП «ГРЧЦ»", "ГРЧЦ"),
        ('Акционерное общество "АТОМДАТА"', "АТОМДАТА"),
        ("Ромашка", "Ромашка"),
        ("  two   words ", "two words"),
    ],
)
def test_short_operator_name(name: str, short: str) -> None:
    assert short_operator_name(name) == short


@pytest.mark.parametrize(
    ("region", "hours"),
    [
        ("г. Москва и Московская область", 0),
        ("г. Санкт-Петербург * Ленинградская область", 0),
        ("Калининградская обл.", -1),
        ("Самарская обл.", 1),
        ("Республика Удмуртская", 1),
        ("Свердловская обл.", 2),
        ("Ханты - Мансийский - Югра АО", 2),
        ("Ямало-Ненецкий АО", 2),
        ("Ненецкий АО", 0),
        ("Омская обл.", 3),
        ("Томская обл.", 4),
        ("Костромская обл.", 0),
        ("Новосибирская обл.", 4),
        ("г. Норильск|Красноярский край", 4),
        ("Иркутская обл.", 5),
        ("Республика Саха /Якутия/", 6),
        ("Приморский край", 7),
        ("Сахалинская обл.", 8),
        ("Корякский округ|Камчатский край", 9),
        ("Чукотский АО", 9),
        ("Российская Федерация", 0),
        ("", 0),
    ],
)
def test_region_tz(region: str, hours: int) -> None:
    assert region_tz(region) == hours


# --- NumberRange --------------------------------------------------------------------------------


def test_number_range_full_numbers() -> None:
    item = _range(916, 1234, 5678)
    assert item.first == 79160001234
    assert item.last == 79160005678


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [(99, 0, 1), (1000, 0, 1), (916, -1, 5), (916, 6, 5), (916, 0, 10_000_000)],
)
def test_number_range_rejects_impossible_ranges(code: int, start: int, end: int) -> None:
    with pytest.raises(ValueError, match="code|range"):
        _range(code, start, end)


def test_number_range_is_frozen() -> None:
    item = _range(916, 0, 1)
    with pytest.raises(AttributeError):
        item.start = 5  # type: ignore[misc]  # proving the dataclass is frozen


# --- NumberingPlan: find, covers, is_valid ------------------------------------------------------


def test_find_uses_inclusive_bounds_and_gaps() -> None:
    low, high = _range(903, 1000, 1999, "Билайн"), _range(903, 3000, 3999, "МТС")
    plan = NumberingPlan([high, low])
    assert plan.ranges == (low, high)
    assert len(plan) == 2
    assert plan.find("79030000999") is None
    assert plan.find("79030001000") is low
    assert plan.find("79030001999") is low
    assert plan.find("79030002000") is None
    assert plan.find("79030003999") is high
    assert plan.find("79030004000") is None
    assert plan.find("79020001500") is None
    assert plan.find("79040001500") is None


@pytest.mark.parametrize(
    "number", ["", "7903000150", "790300015000", "89030001500", "+79030001500", "7903000150x"]
)
def test_find_needs_eleven_digits_starting_with_7(number: str) -> None:
    assert NumberingPlan([_range(903, 0, 9_999_999)]).find(number) is None


def test_overlapping_ranges_are_rejected() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        NumberingPlan([_range(903, 0, 100), _range(903, 100, 200)])
    NumberingPlan([_range(903, 0, 100), _range(903, 101, 200)])


def test_empty_plan_falls_back_to_phonenumbers() -> None:
    plan = NumberingPlan([])
    assert len(plan) == 0
    assert plan.is_valid("79161234567")
    assert not plan.covers("79161234567")
    assert plan.find("79161234567") is None


def test_is_valid(demo_plan: NumberingPlan) -> None:
    assert demo_plan.is_valid("79161234567")  # 916 fully allocated
    assert demo_plan.covers("79032500000")
    assert not demo_plan.is_valid("79032500000")  # a gap in 903
    assert not demo_plan.covers("79501234567")
    assert demo_plan.is_valid("79501234567")  # 950 not in the demo table: phonenumbers decides
    assert demo_plan.is_valid("74951234567")  # Moscow landline, not in the table
    assert demo_plan.is_valid("4915112345678")
    assert not demo_plan.is_valid("70001234567")
    assert not demo_plan.is_valid("123456")
    assert not demo_plan.is_valid("abcdefghijk")


@pytest.mark.parametrize(
    ("number", "plausible"),
    [
        ("79161234567", True),
        ("380501234567", True),
        ("12125551234", True),
        ("9991234567", False),
        ("0123456789", False),
        ("123", False),
        ("7916123456a", False),
        ("1234567890123456", False),
    ],
)
def test_is_plausible(number: str, plausible: bool) -> None:
    assert is_plausible(number) is plausible


# --- NumberingPlan: lookup ----------------------------------------------------------------------


def test_lookup_russian_number_from_the_table(demo_plan: NumberingPlan) -> None:
    assert demo_plan.lookup("79161234567") == NumberInfo(
        phone="79161234567",
        country="RU",
        operator="МТС",
        operator_orig="МТС",
        region="г. Москва и Московская область",
        mcc="250",
        mnc="01",
        tz=0,
    )


@pytest.mark.parametrize(
    ("number", "operator", "mnc", "tz"),
    [
        ("79261234567", "МегаФон", "02", 0),
        ("79031234567", "Билайн", "99", 0),
        ("79771234567", "Tele2", "20", 0),
        ("79998000000", "Yota", "11", 0),
        ("79130012345", "МТС", "01", 4),
        ("79147000000", "МТС", "01", 7),
        ("79245850000", "МегаФон", "02", 9),
        ("79003500000", "Tele2", "20", -1),
        ("79931150000", "Т-Мобайл", "62", 1),
        ("79011515000", "Сбербанк-Телеком", "", 0),
    ],
)
def test_lookup_demo_table(
    demo_plan: NumberingPlan, number: str, operator: str, mnc: str, tz: int
) -> None:
    info = demo_plan.lookup(number, at=SUMMER)
    assert info is not None
    assert (info.country, info.operator, info.operator_orig, info.mnc, info.tz) == (
        "RU",
        operator,
        operator,
        mnc,
        tz,
    )
    assert info.mcc == ("250" if mnc else "")


def test_ported_number_reports_both_operators() -> None:
    ranges = parse_registry(_demo_lines())
    plan = NumberingPlan(ranges, ported={"79161234567": 'ПАО "МегаФон"', "79261234567": "Ромашка"})
    info = plan.lookup("79161234567")
    assert info is not None
    assert (info.operator, info.operator_orig, info.mcc, info.mnc) == (
        "МегаФон",
        "МТС",
        "250",
        "02",
    )
    assert info.region == "г. Москва и Московская область"
    unknown = plan.lookup("79261234567")
    assert unknown is not None
    assert (unknown.operator, unknown.operator_orig, unknown.mcc, unknown.mnc) == (
        "Ромашка",
        "МегаФон",
        "",
        "",
    )
    not_ported = plan.lookup("79161234568")
    assert not_ported is not None
    assert not_ported.operator == not_ported.operator_orig == "МТС"


def test_porting_applies_outside_the_table_too() -> None:
    plan = NumberingPlan([], ported={"79501234567": "Tele2"})
    info = plan.lookup("79501234567")
    assert info is not None
    # operator_orig is whatever phonenumbers' carrier data says for the range.
    assert (info.country, info.operator, info.mcc, info.mnc) == ("RU", "Tele2", "250", "20")


@pytest.mark.parametrize("number", ["+79161234567", "7916", "abc", ""])
def test_ported_numbers_must_be_normalised(number: str) -> None:
    with pytest.raises(ValueError, match="ported number"):
        NumberingPlan([], ported={number: "МТС"})


def test_lookup_foreign_number_uses_phonenumbers(demo_plan: NumberingPlan) -> None:
    assert demo_plan.lookup("4915112345678") == NumberInfo(
        phone="4915112345678",
        country="DE",
        operator="T-Mobile",
        operator_orig="T-Mobile",
        region="",
        mcc="",
        mnc="",
        tz=0,
    )


@pytest.mark.parametrize(
    ("number", "at", "tz"),
    [
        ("4915112345678", WINTER, -2),  # CET vs MSK
        ("4915112345678", SUMMER, -1),  # CEST vs MSK
        ("12125551234", WINTER, -8),  # New York
        ("12125551234", SUMMER, -7),
        ("380501234567", WINTER, -1),
        ("998901234567", WINTER, 2),  # Tashkent
        ("919812345678", WINTER, 2),  # India, +2:30, truncated
        ("74951234567", WINTER, 0),  # Moscow landline outside the table
        ("77012345678", WINTER, 0),  # Kazakhstan: phonenumbers lists zones with several offsets
    ],
)
def test_lookup_foreign_tz_needs_an_instant(number: str, at: datetime, tz: int) -> None:
    info = NumberingPlan([]).lookup(number, at=at)
    assert info is not None
    assert info.tz == tz


def test_lookup_without_the_table_for_a_russian_landline() -> None:
    info = NumberingPlan([]).lookup("74951234567")
    assert info is not None
    assert (info.country, info.operator, info.mcc, info.mnc, info.region) == ("RU", "", "", "", "")


@pytest.mark.parametrize("number", ["", "abc", "123", "+79161234567", "9991234567", "80012345678"])
def test_lookup_of_unplaceable_numbers_is_none(demo_plan: NumberingPlan, number: str) -> None:
    assert demo_plan.lookup(number) is None


def test_lookup_needs_an_aware_instant(demo_plan: NumberingPlan) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        demo_plan.lookup("79161234567", at=datetime(2025, 1, 1))


@settings(deadline=None)
@given(st.one_of(st.text(max_size=20), st.text(alphabet="0123456789", min_size=1, max_size=16)))
def test_plan_queries_never_raise(number: str) -> None:
    plan = NumberingPlan(parse_registry(_demo_lines()))
    found = plan.find(number)
    valid = plan.is_valid(number)
    info = plan.lookup(number, at=WINTER)
    if found is not None:
        assert valid
        assert info is not None and info.country == "RU"


# --- the real registry --------------------------------------------------------------------------

needs_registry = pytest.mark.skipif(not REGISTRY.is_file(), reason=f"{REGISTRY} is absent")


@pytest.fixture(scope="module")
def registry_lines() -> list[str]:
    return REGISTRY.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.fixture(scope="module")
def registry_plan(registry_lines: list[str]) -> NumberingPlan:
    return NumberingPlan(parse_registry(registry_lines))


@needs_registry
def test_real_registry_parses_completely(registry_lines: list[str]) -> None:
    ranges = list(parse_registry(registry_lines))
    data_lines = sum(1 for line in registry_lines[1:] if line.strip())
    assert len(ranges) == data_lines
    assert 9_000 < len(ranges) < 10_500
    assert all(item.operator for item in ranges)


@needs_registry
def test_real_registry_builds_a_plan(registry_plan: NumberingPlan) -> None:
    ranges = registry_plan.ranges
    assert all(a.last < b.first for a, b in zip(ranges, ranges[1:], strict=False))
    for item in ranges:
        assert registry_plan.find(str(item.first)) is item
        assert registry_plan.find(str(item.last)) is item
    big_four = {"МТС", "МегаФон", "Билайн", "Tele2"}
    assert big_four <= {item.operator for item in ranges}
    assert all(item.mcc == "250" for item in ranges if item.operator in big_four)


@needs_registry
@pytest.mark.parametrize(
    ("number", "operator", "mnc", "region", "tz"),
    [
        ("79161234567", "МТС", "01", "г. Москва и Московская область", 0),
        ("79261234567", "МегаФон", "02", "г. Москва и Московская область", 0),
        ("79031234567", "Билайн", "99", "г. Москва и Московская область", 0),
        ("79130000001", "МТС", "01", "Новосибирская обл.", 4),
        ("79999999999", "Yota", "11", "г. Москва и Московская область", 0),
        ("79000000000", "Tele2", "20", "Краснодарский край", 0),
        ("79931120000", "Т-Мобайл", "62", "Астраханская обл.", 1),
    ],
)
def test_real_registry_lookups(
    registry_plan: NumberingPlan, number: str, operator: str, mnc: str, region: str, tz: int
) -> None:
    info = registry_plan.lookup(number)
    assert info is not None
    assert (info.country, info.operator, info.mcc, info.mnc, info.region, info.tz) == (
        "RU",
        operator,
        "250",
        mnc,
        region,
        tz,
    )


@needs_registry
def test_real_registry_gap_is_invalid(registry_plan: NumberingPlan) -> None:
    assert registry_plan.covers("79010250000")
    assert registry_plan.find("79010250000") is None
    assert not registry_plan.is_valid("79010250000")
