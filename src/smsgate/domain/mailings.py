"""Mailings (jobs.php, http-api.md §5): the pure half — job states, repeats, the stored request and
its recipient entries.

A mailing is stored as one row holding its send parameters in a compact form (:func:`pack`); the
scheduler turns each run into messages. :func:`entries` splits the stored recipients into one entry per
recipient (``phones`` items or ``list`` lines), cheaply and without the numbering plan, so that a run
can be expanded batch by batch and resumed at any entry. :func:`next_run` computes the repeats of
``rpt`` (codes.md §9) in the account's zone.
"""

from __future__ import annotations

import calendar
import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import IntEnum

from smsgate.domain.codes import MessageType
from smsgate.domain.phones import split_list
from smsgate.domain.sending import SendRequest
from smsgate.domain.smsc_time import Spread, account_zone

MAX_NAME = 100
# Recipients of one mailing (as send.max_recipients of send.php, http-api.md §2.2).
MAX_RECIPIENTS = 100_000
# Repeats looked for before giving up (a monthly job on the 31st skips short months, never more).
_MAX_STEPS = 24


class MailingError(ValueError):
    """A mailing parameter refused with error 1."""


class MailingStatus(IntEnum):
    """codes.md §5.2 (smsgate definition)."""

    WAITING = 0
    RUNNING = 1
    DONE = 2
    CANCELLED = 3
    FAILED = 4


class Repeat(IntEnum):
    """``rpt`` (codes.md §9)."""

    NONE = 0
    HOURLY = 1
    DAILY = 2
    WORKDAYS = 3
    WEEKENDS = 4
    WEEKLY = 5
    MONTHLY = 6
    YEARLY = 7


_FIXED_STEPS: Mapping[Repeat, timedelta] = {
    Repeat.HOURLY: timedelta(hours=1),
    Repeat.DAILY: timedelta(days=1),
    Repeat.WEEKLY: timedelta(days=7),
}


def parse_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise MailingError("name is required")
    if len(name) > MAX_NAME:
        raise MailingError(f"name is longer than {MAX_NAME} characters")
    return name


def next_run(anchor: float, after: float, rpt: Repeat, tz_minutes: int) -> float | None:
    """The first repeat of a mailing first run at ``anchor`` that comes strictly after ``after``
    (Unix seconds), on the account's wall clock (``tz_minutes`` relative to Moscow); None for
    ``rpt=0``. Working days are Monday to Friday, weekends Saturday and Sunday; a monthly or
    yearly repeat whose day does not exist in a month (31st, 29 February) skips that month."""
    if rpt is Repeat.NONE:
        return None
    zone = account_zone(tz_minutes)
    start = datetime.fromtimestamp(anchor, zone)
    step = _FIXED_STEPS.get(rpt)
    if step is not None:
        count = max(1, math.floor((after - anchor) / step.total_seconds()) + 1)
        return (start + count * step).timestamp()
    if rpt in (Repeat.WORKDAYS, Repeat.WEEKENDS):
        wanted = range(5) if rpt is Repeat.WORKDAYS else range(5, 7)
        days = max(1, math.floor((after - anchor) / 86400))
        for offset in range(days, days + 8):
            candidate = start + timedelta(days=offset)
            if candidate.weekday() in wanted and candidate.timestamp() > after:
                return candidate.timestamp()
        raise AssertionError("a week always has a wanted day")
    months = 12 if rpt is Repeat.YEARLY else 1
    wall = datetime.fromtimestamp(after, zone)
    elapsed = (wall.year - start.year) * 12 + wall.month - start.month
    first = max(1, elapsed // months)
    for k in range(first, first + _MAX_STEPS):
        moved = _add_months(start, k * months)
        if moved is not None and moved.timestamp() > after:
            return moved.timestamp()
    return None


def _add_months(moment: datetime, months: int) -> datetime | None:
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    if moment.day > calendar.monthrange(year, month)[1]:
        return None
    return moment.replace(year=year, month=month)


# --- the stored request ---------------------------------------------------------------------------


def pack(request: SendRequest) -> bytes:
    """A mailing's send request as stored: JSON, deflated (a list of 100,000 numbers, 1.3 MB,
    keeps in a few hundred KB)."""
    data: dict[str, object] = {}
    for f in fields(SendRequest):
        value = getattr(request, f.name)
        if isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, MessageType):
            value = int(value)
        elif f.name == "options":
            value = dict(value)
        data[f.name] = value
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode("utf-8"), 1)


def unpack(stored: bytes) -> SendRequest:
    data = json.loads(zlib.decompress(stored).decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("stored mailing request is not an object")
    known = {f.name for f in fields(SendRequest)}
    values = {k: v for k, v in data.items() if k in known}
    values["mes_octets"] = bytes.fromhex(values.get("mes_octets", ""))
    if values.get("msg_type") is not None:
        values["msg_type"] = MessageType(values["msg_type"])
    return SendRequest(**values)


@dataclass(frozen=True, slots=True)
class Entry:
    """One recipient of a run as given: a ``phones`` item (``text`` None: the mailing's ``mes``)
    or the phone part of a ``list`` line with that line's text."""

    recipient: str
    text: str | None = None

    @property
    def group(self) -> int | None:
        """``n`` of a ``G<n>`` reference, else None."""
        head = self.recipient[:1]
        tail = self.recipient[1:]
        if head in ("G", "g") and tail.isascii() and tail.isdigit():
            return int(tail)
        return None


def entries(phones: str, list_text: str | None) -> list[Entry]:
    """The recipient entries of a mailing in request order (duplicates are dropped when sent)."""
    if list_text is None:
        return [Entry(item) for item in split_list(phones)]
    found: list[Entry] = []
    for line in list_text.splitlines():
        if not line.strip():
            continue
        head, colon, body = line.partition(":")
        if not colon:
            raise MailingError("list line without ':'")
        found.extend(Entry(item, body) for item in split_list(head))
    return found


def count_entries(phones: str, list_text: str | None) -> int:
    """How many entries :func:`entries` finds, without building them."""
    if list_text is None:
        return sum(1 for _ in split_list(phones))
    total = 0
    for line in list_text.splitlines():
        head, colon, _ = line.partition(":")
        if colon:
            total += sum(1 for _ in split_list(head))
    return total


def as_request_text(batch: Sequence[Entry]) -> tuple[str, str | None]:
    """(``phones``, ``list``) for a batch of entries: a ``phones`` list when none carries its own
    text, else ``list`` lines."""
    if all(e.text is None for e in batch):
        return ",".join(e.recipient for e in batch), None
    return "", "\n".join(f"{e.recipient}:{e.text or ''}" for e in batch)


def release_times(spread: Spread | None, total: int, start: datetime) -> list[float]:
    """When entry ``i`` of a run of ``total`` entries is due under ``period``/``freq``
    (http-api.md §2.4): its batch's release time; ``start`` for all without a spread."""
    if spread is None:
        return [start.timestamp()] * total
    times: list[float] = []
    for size, release_at in spread.batches(total, start):
        times.extend([release_at.timestamp()] * size)
    return times
