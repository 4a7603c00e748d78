"""services/caching.py: values kept for a while, and readers of one key sharing one load."""

from __future__ import annotations

import asyncio

import pytest

from smsgate.services.caching import KeyedRefreshed
from tests.support.clock import ManualClock


async def test_concurrent_misses_share_one_load_and_the_value_is_kept_for_the_ttl() -> None:
    clock = ManualClock()
    cache: KeyedRefreshed[str, int] = KeyedRefreshed(clock, ttl_s=1.0)
    loads = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        await gate.wait()
        return loads

    readers = [asyncio.create_task(cache.get("alice", load)) for _ in range(48)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*readers) == [1] * 48
    assert loads == 1
    assert await cache.get("alice", load) == 1  # still fresh
    await clock.advance(1.0)
    assert await cache.get("alice", load) == 2  # expired: read again
    assert await cache.get("bob", load) == 3  # keys are separate


async def test_a_change_during_a_load_is_not_hidden_by_it() -> None:
    clock = ManualClock()
    cache: KeyedRefreshed[str, str] = KeyedRefreshed(clock, ttl_s=60.0)
    stored = "old"
    started, gate = asyncio.Event(), asyncio.Event()

    async def slow_load() -> str:
        value = stored  # read before the change below
        started.set()
        await gate.wait()
        return value

    async def load() -> str:
        return stored

    early = asyncio.create_task(cache.get("k", slow_load))
    await started.wait()
    stored = "new"
    cache.forget("k")  # this node changed it
    assert await cache.get("k", load) == "new"  # does not join the stale read
    gate.set()
    assert await early == "old"  # the reader that started before the change
    assert await cache.get("k", load) == "new"  # and the stale value was not kept


async def test_a_failed_load_fails_its_readers_and_is_not_kept() -> None:
    cache: KeyedRefreshed[str, int] = KeyedRefreshed(ManualClock(), ttl_s=60.0)

    async def broken() -> int:
        raise RuntimeError("database down")

    async def load() -> int:
        return 7

    with pytest.raises(RuntimeError):
        await cache.get("k", broken)
    assert await cache.get("k", load) == 7
