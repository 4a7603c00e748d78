"""Refreshed values: kept for their TTL, one load for concurrent readers, cleared on demand."""

from __future__ import annotations

import asyncio

from smsgate.services.caching import Refreshed
from tests.support.clock import ManualClock


async def test_value_is_kept_for_its_ttl_and_loaded_once() -> None:
    clock = ManualClock()
    loads: list[int] = []

    async def load() -> int:
        loads.append(len(loads))
        await asyncio.sleep(0)
        return len(loads)

    cached = Refreshed(load, clock, ttl_s=5)
    assert await asyncio.gather(*(cached.get() for _ in range(10))) == [1] * 10
    await clock.advance(4)
    assert await cached.get() == 1
    await clock.advance(2)
    assert await cached.get() == 2
    cached.clear()
    assert await cached.get() == 3
    assert len(loads) == 3
