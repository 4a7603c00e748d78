"""A value read from the store and kept for a while."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from smsgate.clock import Clock

T = TypeVar("T")


class Refreshed(Generic[T]):
    """``load()``'s result, re-read at most every ``ttl_s``; concurrent readers share one load.

    Changes made on this node call :meth:`clear` so that they show at once; changes made on
    another node show within ``ttl_s``.
    """

    def __init__(self, load: Callable[[], Awaitable[T]], clock: Clock, ttl_s: float) -> None:
        self._load = load
        self._clock = clock
        self._ttl_s = ttl_s
        self._value: tuple[T, float] | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> T:
        cached = self._value
        if cached is not None and self._clock.monotonic() - cached[1] < self._ttl_s:
            return cached[0]
        async with self._lock:
            cached = self._value
            if cached is None or self._clock.monotonic() - cached[1] >= self._ttl_s:
                cached = (await self._load(), self._clock.monotonic())
                self._value = cached
            return cached[0]

    def clear(self) -> None:
        self._value = None
