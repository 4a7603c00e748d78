"""The simulator's sub-millisecond timer (a Linux timerfd watched by the event loop)."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from smsgate.simulators.precise_timer import PreciseTimer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd is Linux's")


async def test_waits_end_at_their_deadlines_never_before_and_in_order() -> None:
    timer = PreciseTimer.create()
    assert timer is not None
    ended: list[tuple[float, float]] = []

    async def wait(deadline: float) -> None:
        await timer.sleep_until(deadline)
        ended.append((deadline, time.monotonic()))

    start = time.monotonic()
    deadlines = [start + 0.003, start + 0.0015, start + 0.0025, start + 0.0015]
    try:
        await asyncio.gather(*(wait(d) for d in deadlines))
    finally:
        timer.close()
    assert all(at >= deadline for deadline, at in ended)
    assert [deadline for deadline, _ in ended] == sorted(deadlines)


async def test_a_deadline_already_passed_returns_at_once() -> None:
    timer = PreciseTimer.create()
    assert timer is not None
    try:
        await timer.sleep_until(time.monotonic() - 1)
    finally:
        timer.close()


async def test_closing_cancels_the_waits() -> None:
    timer = PreciseTimer.create()
    assert timer is not None
    waiting = asyncio.ensure_future(timer.sleep_until(time.monotonic() + 3600))
    await asyncio.sleep(0)
    timer.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
