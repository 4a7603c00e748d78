"""The numbering plan: registry ranges, operator codes, porting, and number look-ups.

Operator and region come from our own numbering-plan table in the Russian registry format, with a
portability (MNP) override table on top (DESIGN.md "Numbers"); info.php reports them (spec/http-api.md
§11: ``phone``, ``country``, ``operator``, ``operator_orig``, ``region``, ``mcc``, ``mnc``, ``tz``).

Registry format (the DEF/ABC code tables of the Russian numbering-plan registry): UTF-8, optionally
with a BOM, ``;``-separated, an optional header line, then one row per range::

    code;from;to;capacity;operator;region[;INN]

``code`` is the 3-digit ABC/DEF code and ``from``/``to`` the first and last 7-digit subscriber number,
so a row covers ``7 <code> <from>`` … ``7 <code> <to>``. ``capacity`` must equal ``to - from + 1``.
Parsing is strict: the first malformed row stops the import with a ``RegistryFormatError`` naming its
line, because a half-imported plan would silently reject or mislabel real numbers.

Numbers outside the table fall back to ``phonenumbers``: its ``is_valid_number`` is the plan check,
and its country, carrier and time-zone data fill the look-up. Its geocoder is not used: importing it
costs about 0.5 s and 100 MB of memory for a region name. ``phonenumbers.carrier`` and ``.timezone``
are imported lazily, on the first foreign look-up (about 40 ms and 10 MB).
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

RU_COUNTRY = "RU"
RU_MCC = "250"
MIN_DIGITS = 7
MAX_DIGITS = 15
MOSCOW_ZONE = "Europe/Moscow"

_CODE_SPAN = 10_000_000  # subscriber numbers under one 3-digit code
_RU_BASE = 7 * 1000 * _CODE_SPAN  # 7 000 000 0000 0: the first number of country code 7
_RU_LENGTH = 11
_DIGITS = re.compile(r"[0-9]+")
_INT_FIELD = re.compile(r"[0-9]{1,9}")
_QUOTED = re.compile(r"[\"«](.+)[\"»]")
_NAME_PUNCTUATION = re.compile(r"[\"«»'\-]+")
_REGISTRY_FIELDS = (6, 7)
_WORD = re.compile(r"\w+")

# Operator name aliases (normalised words, see ``_normalise_name``) → display name and MNC under
# MCC 250. Legal names as they appear in the registry, plus brand names so that a portability table
# may name either. Sources: ITU E.212 assignments as listed publicly; operators whose MNC is not
# certain are left out and get empty mcc/mnc.
_CARRIERS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("мобильные телесистемы", "мтс", "mts"), "МТС", "01"),
    (("мегафон", "megafon"), "МегаФон", "02"),
    (("вайнах телеком",), "Вайнах Телеком", "08"),
    (("скартел", "yota", "йота"), "Yota", "11"),
    (("миател",), "Миател", "16"),
    (("т2 мобайл", "теле2", "tele2", "t2"), "Tele2", "20"),
    (("таттелеком", "летай"), "Летай", "27"),
    (("иридиум",), "Иридиум", "29"),
    (("к телеком", "win mobile"), "Win Mobile", "32"),
    (("севастополь телеком", "севмобайл"), "Севмобайл", "33"),
    (("крымтелеком",), "Крымтелеком", "34"),
    (("екатеринбург 2000", "мотив"), "Мотив", "35"),
    (("ростелеком", "rostelecom"), "Ростелеком", "39"),
    (("ктк телеком", "волна мобайл"), "Волна мобайл", "60"),
    (("тинькофф мобайл", "т мобайл", "tinkoff mobile"), "Т-Мобайл", "62"),
    (("вымпел коммуникации", "билайн", "beeline"), "Билайн", "99"),
)

# Hours relative to Moscow by the start of a word of the region name ("омск" must not match
# "Томская" or "Костромская"). Russia keeps no daylight saving time, so these are fixed. Unlisted
# regions (Moscow, St Petersburg, the south, the Volga west of Samara, Crimea …) are MSK+0.
_REGION_TZ: tuple[tuple[str, int], ...] = (
    ("калининград", -1),
    ("самар", 1),
    ("удмурт", 1),
    ("астрахан", 1),
    ("саратов", 1),
    ("ульянов", 1),
    ("ямало", 2),
    ("ханты", 2),
    ("сургут", 2),
    ("башкорт", 2),
    ("абзелилов", 2),
    ("курган", 2),
    ("оренбург", 2),
    ("перм", 2),
    ("свердлов", 2),
    ("тюмен", 2),
    ("челябин", 2),
    ("томск", 4),
    ("омск", 3),
    ("алтай", 4),
    ("кемеров", 4),
    ("красноярск", 4),
    ("норильск", 4),
    ("новосибирск", 4),
    ("тыва", 4),
    ("хакас", 4),
    ("иркутск", 5),
    ("бурят", 5),
    ("забайкал", 6),
    ("амурск", 6),
    ("якут", 6),
    ("приморск", 7),
    ("хабаровск", 7),
    ("еврейск", 7),
    ("магадан", 8),
    ("сахалин", 8),
    ("камчат", 9),
    ("чукот", 9),
    ("коряк", 9),
)


class RegistryFormatError(ValueError):
    """A registry row that cannot be read; ``line_number`` counts physical lines from 1, header and
    blank lines included."""

    def __init__(self, line_number: int, problem: str) -> None:
        super().__init__(f"numbering registry line {line_number}: {problem}")
        self.line_number = line_number
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Carrier:
    """An operator as reported: display name and its MCC/MNC (empty when unknown)."""

    name: str
    mcc: str
    mnc: str


@dataclass(frozen=True, slots=True)
class NumberRange:
    """One registry row: numbers ``7 <prefix_code> <start>`` … ``7 <prefix_code> <end>``.

    ``start``/``end`` are 7-digit subscriber numbers, inclusive. Construction rejects a code outside
    100–999 or a range outside 0–9 999 999 with ``ValueError``.
    """

    prefix_code: int
    start: int
    end: int
    operator: str
    region: str
    mcc: str
    mnc: str

    def __post_init__(self) -> None:
        if not 100 <= self.prefix_code <= 999:
            raise ValueError(f"code {self.prefix_code} is not a 3-digit ABC/DEF code")
        if not 0 <= self.start <= self.end < _CODE_SPAN:
            raise ValueError(f"range {self.start}..{self.end} is not within 0..{_CODE_SPAN - 1}")

    @property
    def first(self) -> int:
        """The first full number of the range, e.g. 79160000000."""
        return _RU_BASE + self.prefix_code * _CODE_SPAN + self.start

    @property
    def last(self) -> int:
        """The last full number of the range, inclusive."""
        return _RU_BASE + self.prefix_code * _CODE_SPAN + self.end


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """What info.php reports for one number (spec/http-api.md §11).

    ``operator_orig`` is the operator the number was allocated to; ``operator`` differs from it only
    for a ported number. ``country`` is ISO 3166-1 alpha-2. ``tz`` is whole hours relative to Moscow
    (0 when unknown). Unknown text fields are empty.
    """

    phone: str
    country: str
    operator: str
    operator_orig: str
    region: str
    mcc: str
    mnc: str
    tz: int


def short_operator_name(name: str) -> str:
    """The operator's name without legal form: ``ПАО "МегаФон"`` → ``МегаФон``."""
    collapsed = " ".join(name.split())
    quoted = _QUOTED.search(collapsed)
    return quoted.group(1).strip() if quoted else collapsed


def carrier_for(operator: str) -> Carrier:
    """Display name and MCC/MNC of an operator named by its registry (legal) or brand name.

    Matching is by whole words after case-folding and dropping quotes and hyphens, so
    ``ООО "Т2 Мобайл"``, ``АО "Теле2-Санкт-Петербург"`` and ``Tele2`` all give Tele2 250-20. An
    unknown operator keeps its short name (``short_operator_name``) with empty mcc and mnc.
    """
    padded = f" {_normalise_name(operator)} "
    for aliases, display, mnc in _CARRIERS:
        if any(f" {alias} " in padded for alias in aliases):
            return Carrier(display, RU_MCC, mnc)
    return Carrier(short_operator_name(operator), "", "")


def region_tz(region: str) -> int:
    """Hours relative to Moscow for a Russian region name as written in the registry (else 0)."""
    words = _WORD.findall(region.casefold())
    for stem, offset in _REGION_TZ:
        if any(word.startswith(stem) for word in words):
            return offset
    return 0


def parse_registry(lines: Iterable[str]) -> Iterator[NumberRange]:
    """Yield the ranges of a registry file given as lines (with or without line ends).

    A BOM on the first line is dropped; the first non-blank row is a header when its first field is
    not a number; blank rows are skipped; fields are stripped and inner whitespace collapsed; CSV
    quoting (doubled quotes inside a quoted field) is honoured; 6 or 7 fields (INN optional). The
    operator becomes a display name with MCC/MNC through ``carrier_for``. Any other deviation raises
    ``RegistryFormatError`` with the physical line number; rows before it have been yielded.
    """
    reader = csv.reader(_without_bom(lines), delimiter=";")
    carriers: dict[str, Carrier] = {}
    expect_header = True
    try:
        for row in reader:
            if not any(field.strip() for field in row):
                continue
            if expect_header:
                expect_header = False
                if not _DIGITS.fullmatch(row[0].strip()):
                    continue
            yield _parse_row(row, reader.line_num, carriers)
    except csv.Error as exc:
        raise RegistryFormatError(reader.line_num, f"CSV syntax: {exc}") from None


def is_plausible(number: str) -> bool:
    """``phonenumbers``' validity check of normalised digits (no ``+``): 7–15 digits forming a
    number of a known country that matches one of its number patterns. Never raises."""
    parsed = _parse_international(number)
    return parsed is not None and bool(phonenumbers.is_valid_number(parsed))


class NumberingPlan:
    """Ranges of the Russian numbering plan with a portability override, answering in O(log n).

    Built from ``NumberRange``s (any order; overlapping ranges raise ``ValueError``) and an optional
    ``ported`` mapping of normalised number → operator name (registry or brand, see
    ``carrier_for``), which wins over the range for ``operator``/``mcc``/``mnc``. Immutable.
    """

    __slots__ = ("_codes", "_ends", "_ported", "_ranges", "_region_tz", "_starts")

    def __init__(
        self, ranges: Iterable[NumberRange], ported: Mapping[str, str] | None = None
    ) -> None:
        ordered = sorted(ranges, key=lambda item: item.first)
        for previous, current in zip(ordered, ordered[1:], strict=False):
            if current.first <= previous.last:
                raise ValueError(f"overlapping numbering ranges: {previous} and {current}")
        self._ranges = tuple(ordered)
        self._starts = [item.first for item in ordered]
        self._ends = [item.last for item in ordered]
        self._codes = frozenset(item.prefix_code for item in ordered)
        self._region_tz = {region: region_tz(region) for region in {i.region for i in ordered}}
        self._ported = {number: carrier_for(name) for number, name in (ported or {}).items()}
        for number in self._ported:
            if not _is_number(number):
                raise ValueError(f"ported number {number!r} is not 7-15 digits")

    def __len__(self) -> int:
        return len(self._ranges)

    @property
    def ranges(self) -> tuple[NumberRange, ...]:
        """The ranges, sorted by their first number."""
        return self._ranges

    def find(self, number: str) -> NumberRange | None:
        """The range holding a normalised number (``79161234567``), or ``None``."""
        value = _russian_value(number)
        return None if value is None else self._find_value(value)

    def covers(self, number: str) -> bool:
        """True when the plan has data for the number's ABC/DEF code, so the plan decides validity."""
        value = _russian_value(number)
        return value is not None and self._covers_value(value)

    def is_valid(self, number: str) -> bool:
        """The numbering-plan check of spec/http-api.md §1.6 for normalised digits (no ``+``).

        A Russian number (``7`` + 10 digits) whose code the plan covers is valid only inside one of
        its ranges; any other number of 7–15 digits is judged by ``is_plausible``. Never raises.
        """
        value = _russian_value(number)
        if value is not None and self._covers_value(value):
            return self._find_value(value) is not None
        return is_plausible(number)

    def lookup(self, number: str, *, at: datetime | None = None) -> NumberInfo | None:
        """Country, operator (after porting), original operator, region, MCC/MNC and tz of a number.

        Numbers in the table are Russian and take everything from their range (tz from the region).
        Others fall back to ``phonenumbers`` (country and English carrier name; no region; mcc/mnc
        empty); their tz needs ``at`` (timezone-aware, as offsets move with daylight saving time)
        and a single offset for all the zones of the number, else it is 0. ``None`` when the number
        is not 7–15 digits or ``phonenumbers`` cannot place it in a country.
        """
        if at is not None and at.utcoffset() is None:
            raise ValueError("lookup needs a timezone-aware datetime")
        found = self.find(number)
        if found is not None:
            info: NumberInfo | None = _range_info(number, found, self._region_tz[found.region])
        else:
            info = _international_info(number, at)
        ported = self._ported.get(number)
        if info is None or ported is None:
            return info
        return replace(info, operator=ported.name, mcc=ported.mcc, mnc=ported.mnc)

    def _covers_value(self, value: int) -> bool:
        return value // _CODE_SPAN % 1000 in self._codes

    def _find_value(self, value: int) -> NumberRange | None:
        index = bisect_right(self._starts, value) - 1
        if index >= 0 and value <= self._ends[index]:
            return self._ranges[index]
        return None


def _normalise_name(name: str) -> str:
    return " ".join(_NAME_PUNCTUATION.sub(" ", name.casefold().replace("ё", "е")).split())


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    iterator = iter(lines)
    for first in iterator:
        yield first.removeprefix("\ufeff")
        break
    yield from iterator


def _parse_row(row: list[str], line_number: int, carriers: dict[str, Carrier]) -> NumberRange:
    if len(row) not in _REGISTRY_FIELDS:
        raise RegistryFormatError(
            line_number, f"expected 6 or 7 ';'-separated fields, found {len(row)}"
        )
    code, start, end, capacity = (
        _int_field(row[index], name, line_number)
        for index, name in enumerate(("code", "from", "to", "capacity"))
    )
    if capacity != end - start + 1:
        raise RegistryFormatError(
            line_number, f"capacity {capacity} does not match range {start}..{end}"
        )
    operator = " ".join(row[4].split())
    if not operator:
        raise RegistryFormatError(line_number, "empty operator")
    carrier = carriers.get(operator)
    if carrier is None:
        carrier = carriers[operator] = carrier_for(operator)
    try:
        return NumberRange(
            code, start, end, carrier.name, " ".join(row[5].split()), carrier.mcc, carrier.mnc
        )
    except ValueError as exc:
        raise RegistryFormatError(line_number, str(exc)) from None


def _int_field(text: str, name: str, line_number: int) -> int:
    value = text.strip()
    if not _INT_FIELD.fullmatch(value):
        raise RegistryFormatError(line_number, f"{name} {value[:20]!r} is not a number")
    return int(value)


def _is_number(number: str) -> bool:
    return MIN_DIGITS <= len(number) <= MAX_DIGITS and _DIGITS.fullmatch(number) is not None


def _russian_value(number: str) -> int | None:
    if len(number) == _RU_LENGTH and number[0] == "7" and number.isascii() and number.isdigit():
        return int(number)
    return None


def _parse_international(number: str) -> phonenumbers.PhoneNumber | None:
    if not _is_number(number):
        return None
    try:
        return phonenumbers.parse("+" + number, None)
    except phonenumbers.NumberParseException:
        return None


def _range_info(number: str, found: NumberRange, tz: int) -> NumberInfo:
    return NumberInfo(
        phone=number,
        country=RU_COUNTRY,
        operator=found.operator,
        operator_orig=found.operator,
        region=found.region,
        mcc=found.mcc,
        mnc=found.mnc,
        tz=tz,
    )


def _international_info(number: str, at: datetime | None) -> NumberInfo | None:
    parsed = _parse_international(number)
    if parsed is None:
        return None
    country = phonenumbers.region_code_for_number(parsed)
    if not isinstance(country, str) or len(country) != 2 or country == "ZZ":
        return None
    # Imported here: phonenumbers.carrier adds ~35 ms and ~10 MB, needed only for foreign numbers.
    from phonenumbers import carrier, timezone

    operator = str(carrier.name_for_number(parsed, "en"))
    tz = 0 if at is None else _zones_offset(tuple(timezone.time_zones_for_number(parsed)), at)
    return NumberInfo(
        phone=number,
        country=country,
        operator=operator,
        operator_orig=operator,
        region="",
        mcc="",
        mnc="",
        tz=tz,
    )


def _zones_offset(zones: tuple[str, ...], at: datetime) -> int:
    """Hours from Moscow shared by all ``zones`` at ``at``, truncated toward zero; else 0."""
    try:
        offsets = {_utc_offset(zone, at) for zone in zones}
        moscow = _utc_offset(MOSCOW_ZONE, at)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return 0
    if len(offsets) != 1:
        return 0
    return int((offsets.pop() - moscow) / timedelta(hours=1))


def _utc_offset(zone: str, at: datetime) -> timedelta:
    # An aware datetime converted to a ZoneInfo always has an offset; "or" only satisfies typing.
    return at.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
