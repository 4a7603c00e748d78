"""Sequence numbers and the table of requests awaiting a response (SMPP 3.4 §2.6, §3.2).

Pure bookkeeping for the session: no clock and no asyncio. Deadlines are monotonic seconds the caller
computed; :meth:`InFlight.overdue` lists what has passed them.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from typing import Generic, TypeVar

MIN_SEQUENCE = 0x00000001
MAX_SEQUENCE = 0x7FFFFFFF

T = TypeVar("T")


class SequenceNumbers:
    """Allocates sequence numbers 1 … 0x7FFFFFFF, wrapping to 1, skipping any still in flight."""

    __slots__ = ("_last",)

    def __init__(self, start: int = MIN_SEQUENCE) -> None:
        if not MIN_SEQUENCE <= start <= MAX_SEQUENCE:
            raise ValueError(f"sequence number {start} outside 1..0x7FFFFFFF")
        self._last = start - 1

    def next(self, in_use: Container[int] | None = None) -> int:
        while True:
            self._last = self._last + 1 if self._last < MAX_SEQUENCE else MIN_SEQUENCE
            if in_use is None or self._last not in in_use:
                return self._last


class InFlight(Generic[T]):
    """Requests sent and not yet answered, by sequence number, each with its response deadline."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[float, T]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sequence_number: object) -> bool:
        return sequence_number in self._entries

    def __iter__(self) -> Iterator[T]:
        return (item for _, item in self._entries.values())

    def add(self, sequence_number: int, item: T, deadline: float) -> None:
        if sequence_number in self._entries:
            raise ValueError(f"sequence number {sequence_number} already in flight")
        self._entries[sequence_number] = (deadline, item)

    def pop(self, sequence_number: int) -> T | None:
        entry = self._entries.pop(sequence_number, None)
        return None if entry is None else entry[1]

    def overdue(self, now: float) -> list[tuple[int, T]]:
        """Remove and return every entry whose deadline is at or before ``now``."""
        due = [(seq, item) for seq, (deadline, item) in self._entries.items() if deadline <= now]
        for seq, _ in due:
            del self._entries[seq]
        return due

    def clear(self) -> list[T]:
        items = [item for _, item in self._entries.values()]
        self._entries.clear()
        return items
