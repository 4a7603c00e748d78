"""get.php query rules: the six-month window and the format filter (http-api.md §10)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smsgate.domain.codes import MessageType
from smsgate.domain.history import add_months, format_filter, within_period


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "moved"),
    [
        (at(2025, 1, 15), 6, at(2025, 7, 15)),
        (at(2025, 8, 31), 6, at(2026, 2, 28)),
        (at(2023, 8, 31), 6, at(2024, 2, 29)),
        (at(2025, 12, 1), 1, at(2026, 1, 1)),
        (at(2025, 3, 31), -1, at(2025, 2, 28)),
    ],
)
def test_add_months(start: datetime, months: int, moved: datetime) -> None:
    assert add_months(start, months) == moved


def test_within_period() -> None:
    assert within_period(at(2025, 1, 1), at(2025, 7, 1))
    assert not within_period(at(2025, 1, 1), at(2025, 7, 2))


@pytest.mark.parametrize(
    ("index", "included", "excluded"),
    [
        (0, None, (8,)),
        (8, (8,), ()),
        (3, (int(MessageType.HLR),), ()),
        (4, (int(MessageType.BIN),), ()),
        (5, (int(MessageType.BIN),), ()),
        (12, (int(MessageType.TG),), ()),
    ],
)
def test_format_filter(
    index: int, included: tuple[int, ...] | None, excluded: tuple[int, ...]
) -> None:
    assert format_filter(index) == (included, excluded)


@pytest.mark.parametrize("index", [13, 99])
def test_unknown_format(index: int) -> None:
    with pytest.raises(ValueError, match="format index"):
        format_filter(index)
