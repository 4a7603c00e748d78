"""A clock that only moves when the test says so."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class ManualClock:
    """Implements smsgate's ``Clock``; ``sleep`` resolves when :meth:`advance` passes its deadline."""

    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self._now = start
        self._monotonic = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._monotonic + seconds, next(self._ids), future))
        await future

    def next_deadline(self) -> float | None:
        """The monotonic time at which the earliest sleeper wakes, or None when nobody sleeps."""
        return min((due for due, _, f in self._sleepers if not f.done()), default=None)

    async def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self._now += seconds
        self._monotonic += seconds
        while self._sleepers and self._sleepers[0][0] <= self._monotonic:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
        await asyncio.sleep(0)
