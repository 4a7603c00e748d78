"""A value read from the store and kept for a while."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
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


K = TypeVar("K", bound=Hashable)


class KeyedRefreshed(Generic[K, T]):
    """Values read from the store per key (an account's row, policy, blacklist …), each re-read at
    most every ``ttl_s``; concurrent readers of one key share one load.

    Without the sharing, every request in flight misses together when an entry expires: with 48
    connections sending for one account, 48 identical reads once a second instead of one. At most
    ``max_entries`` are kept (all are dropped when full; they are cheap to read again).
    """

    def __init__(self, clock: Clock, ttl_s: float, *, max_entries: int = 100_000) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._values: dict[K, tuple[T, float]] = {}
        self._loading: dict[K, asyncio.Future[T]] = {}
        # Bumped by forget/clear: a load that started before a change must not be kept after it.
        self._generation = 0

    async def get(self, key: K, load: Callable[[], Awaitable[T]]) -> T:
        cached = self._values.get(key)
        if cached is not None and self._clock.monotonic() - cached[1] < self._ttl_s:
            return cached[0]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self._generation
        try:
            started = self._clock.monotonic()
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        if self._ttl_s > 0 and generation == self._generation:
            if len(self._values) >= self._max_entries:
                self._values.clear()
            self._values[key] = (value, started)
        future.set_result(value)
        return value

    def forget(self, key: K) -> None:
        """Read ``key`` again next time (this node changed it); a read in progress may have seen
        the old value, so later readers do not join it."""
        self._generation += 1
        self._values.pop(key, None)
        self._loading.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._values.clear()
        self._loading.clear()
