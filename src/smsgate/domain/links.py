"""Tracked short links in message texts (send.php ``tinyurl=1``, http-api.md §2.1, §2.3, §11).

Pure text work, no I/O. In the text pipeline short links come after transliteration and before the
encoding and segment count (http-api.md §2.3), so a message is priced as it is sent. Every
``http(s)://`` URL becomes ``<base>/l/<code>`` with a code unique per recipient; the codes are only
minted when the message is stored, so :func:`shorten` leaves a placeholder of the code's exact length.
A code is base62 (ASCII letters and digits: one GSM-7 septet or one UCS-2 unit each), so the real code
never changes a text's encoding or part count.

Click counters of a link record are kept per day in the account's zone (:func:`day_number`); the
tinyurls.php record reports all clicks, this calendar month, today and yesterday (SMSC's ``cnt``,
``cnt_mon``, ``cnt_day``, ``cnt_yes``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from smsgate.domain.smsc_time import account_zone

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MIN_CODE_LENGTH = 6
MAX_CODE_LENGTH = 24
PLACEHOLDER = "0"
PATH = "/l/"
# A URL runs to the first whitespace, quote or angle bracket (so ``href="…"`` in a mail works).
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation that ends a sentence rather than the URL ("see https://shop.example/a.").
_TRAILING = ".,;:!?…»”’"
_CODE = re.compile(r"[0-9A-Za-z]+", re.ASCII)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LinkStyle:
    """How short links look: ``prefix`` (``<base_url>/l/``) followed by ``code_length`` characters."""

    prefix: str
    code_length: int

    @classmethod
    def for_base(cls, base_url: str, code_length: int) -> LinkStyle:
        return cls(base_url.rstrip("/") + PATH, code_length)

    def link(self, code: str) -> str:
        return self.prefix + code


@dataclass(frozen=True, slots=True)
class LinkSlot:
    """One short link in a text: ``text[start:end]`` is the prefix and the code's placeholder."""

    start: int
    end: int
    url: str


def find_urls(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every http(s) URL in ``text``, trailing sentence punctuation and an
    unbalanced closing bracket excluded."""
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start:
            last = text[end - 1]
            if last in _TRAILING or last in ")]}" and _unbalanced(text[start:end], last):
                end -= 1
            else:
                break
        if end - start > len("http://"):
            spans.append((start, end))
    return spans


def _unbalanced(url: str, closing: str) -> bool:
    opening = {")": "(", "]": "[", "}": "{"}[closing]
    return url.count(closing) > url.count(opening)


def shorten(text: str, style: LinkStyle) -> tuple[str, tuple[LinkSlot, ...]]:
    """``text`` with every URL replaced by a short link whose code is a placeholder, and the slots."""
    spans = find_urls(text)
    if not spans:
        return text, ()
    pieces: list[str] = []
    slots: list[LinkSlot] = []
    position = 0
    length = 0
    placeholder = style.prefix + PLACEHOLDER * style.code_length
    for start, end in spans:
        pieces.append(text[position:start])
        length += start - position
        slots.append(LinkSlot(length, length + len(placeholder), text[start:end]))
        pieces.append(placeholder)
        length += len(placeholder)
        position = end
    pieces.append(text[position:])
    return "".join(pieces), tuple(slots)


def whole_slots(text: str, slots: Sequence[LinkSlot]) -> tuple[LinkSlot, ...]:
    """The slots still whole after ``text`` was truncated (``maxsms``); a cut link gets no code."""
    return tuple(slot for slot in slots if slot.end <= len(text))


def fill(text: str, slots: Sequence[LinkSlot], codes: Mapping[str, str]) -> str:
    """``text`` with each slot's placeholder replaced by the code of its URL."""

    def piece(slot: LinkSlot) -> str:
        code = codes[slot.url]
        return text[slot.start : slot.end - len(code)] + code

    return _replace(text, slots, piece)


def restore(text: str, slots: Sequence[LinkSlot]) -> str:
    """``text`` with the original URLs back in place (a recipient refused at acceptance)."""
    return _replace(text, slots, lambda slot: slot.url)


def _replace(text: str, slots: Sequence[LinkSlot], piece: Callable[[LinkSlot], str]) -> str:
    pieces: list[str] = []
    position = 0
    for slot in sorted(slots, key=lambda s: s.start):
        pieces.append(text[position : slot.start])
        pieces.append(piece(slot))
        position = slot.end
    pieces.append(text[position:])
    return "".join(pieces)


def is_code(text: str, max_length: int = MAX_CODE_LENGTH) -> bool:
    """Whether ``text`` could be a short-link code (base62, at most ``max_length`` characters)."""
    return 0 < len(text) <= max_length and _CODE.fullmatch(text) is not None


def code_of(link: str, style: LinkStyle) -> str | None:
    """The code of a short link given as ``<base>/l/<code>`` (any scheme and host) or a bare
    code; None when ``link`` is neither."""
    text = link.strip()
    if text.startswith(style.prefix):
        text = text[len(style.prefix) :]
    elif PATH in text and "://" in text:
        text = text.rsplit(PATH, 1)[1]
    text = text.rstrip("/")
    return text if is_code(text) else None


def day_number(unix_seconds: float, tz_minutes: int) -> int:
    """Days since 1970-01-01 of the calendar day ``unix_seconds`` falls on in the account zone."""
    offset = account_zone(tz_minutes).utcoffset(None) or timedelta()
    return int((unix_seconds + offset.total_seconds()) // 86400)


@dataclass(frozen=True, slots=True)
class CounterDays:
    """The day numbers that bound tinyurls.php's counters at a moment, in the account zone."""

    today: int
    yesterday: int
    month_start: int


def counter_days(unix_seconds: float, tz_minutes: int) -> CounterDays:
    today = day_number(unix_seconds, tz_minutes)
    local = (_EPOCH + timedelta(days=today)).date()
    month_start = (local.replace(day=1) - _EPOCH.date()).days
    return CounterDays(today, today - 1, month_start)
