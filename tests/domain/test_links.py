"""Short links in texts (domain/links.py): which URLs, placeholders, codes, counters' days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smsgate.domain.links import (
    BASE62,
    LinkSlot,
    LinkStyle,
    code_of,
    counter_days,
    day_number,
    fill,
    find_urls,
    restore,
    shorten,
    whole_slots,
)
from smsgate.domain.segments import count_parts

STYLE = LinkStyle.for_base("https://sg.example/", 8)


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("no links here", []),
        ("see https://shop.example/a?b=1&c=2 now", ["https://shop.example/a?b=1&c=2"]),
        ("end of sentence http://x.example/path.", ["http://x.example/path"]),
        ("(see https://x.example/a)", ["https://x.example/a"]),
        ("wiki https://en.example/Foo_(bar) ok", ["https://en.example/Foo_(bar)"]),
        ("two: https://a.example, https://b.example!", ["https://a.example", "https://b.example"]),
        ('<a href="https://m.example/x">x</a>', ["https://m.example/x"]),
        ("HTTPS://UPPER.EXAMPLE/X", ["HTTPS://UPPER.EXAMPLE/X"]),
        ("ftp://not.example and www.not.example", []),
        ("bare https:// alone", []),
        ("кириллица https://пример.рф/путь, да", ["https://пример.рф/путь"]),
    ],
)
def test_urls_found(text: str, urls: list[str]) -> None:
    assert [text[s:e] for s, e in find_urls(text)] == urls


def test_shorten_fill_and_restore_round_trip() -> None:
    text = "A https://a.example/1 and https://b.example/2 and https://a.example/1."
    short, slots = shorten(text, STYLE)
    assert short == (
        "A https://sg.example/l/00000000 and https://sg.example/l/00000000 and "
        "https://sg.example/l/00000000."
    )
    assert [s.url for s in slots] == [
        "https://a.example/1",
        "https://b.example/2",
        "https://a.example/1",
    ]
    filled = fill(
        short, slots, {"https://a.example/1": "AAAAaaaa", "https://b.example/2": "Bb12Bb12"}
    )
    assert filled == (
        "A https://sg.example/l/AAAAaaaa and https://sg.example/l/Bb12Bb12 and "
        "https://sg.example/l/AAAAaaaa."
    )
    assert restore(short, slots) == text


@pytest.mark.parametrize("text", ["Привет https://shop.example/x", "Hi https://shop.example/x €"])
def test_a_real_code_never_changes_the_part_count(text: str) -> None:
    short, slots = shorten(text + " " + "y" * 140, STYLE)
    before = count_parts(short)
    after = count_parts(fill(short, slots, {slots[0].url: BASE62[-8:]}))
    assert (before.encoding, before.parts, before.units) == (
        after.encoding,
        after.parts,
        after.units,
    )


def test_a_link_cut_by_truncation_gets_no_code() -> None:
    short, slots = shorten("x https://a.example y https://b.example", STYLE)
    cut = short[: slots[1].end - 3]
    assert whole_slots(cut, slots) == (slots[0],)


@pytest.mark.parametrize(
    ("link", "code"),
    [
        ("https://sg.example/l/AbC12345", "AbC12345"),
        ("http://other.host:8000/l/AbC12345/", "AbC12345"),
        ("AbC12345", "AbC12345"),
        ("https://shop.example/catalog", None),
        ("https://sg.example/l/../../etc", None),
        ("", None),
        ("x" * 30, None),
    ],
)
def test_code_of(link: str, code: str | None) -> None:
    assert code_of(link, STYLE) == code


def test_days_follow_the_account_zone() -> None:
    # 21:30 UTC on 31 Jan 2025 is 00:30 on 1 Feb in Moscow, still 31 Jan three hours west of it.
    moment = datetime(2025, 1, 31, 21, 30, tzinfo=UTC).timestamp()
    moscow = counter_days(moment, 0)
    west = counter_days(moment, -180)
    assert moscow.today == west.today + 1
    assert moscow.month_start == moscow.today  # 1 February
    assert west.yesterday == day_number(moment - 86400, -180)
    assert west.today - west.month_start == 30  # 31 January


def test_slots_are_offsets_into_the_shortened_text() -> None:
    short, slots = shorten("é https://a.example", STYLE)
    assert slots == (LinkSlot(2, len(short), "https://a.example"),)
