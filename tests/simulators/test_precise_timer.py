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


async def test_callbacks_run_at_their_deadlines_in_order_and_a_passed_one_at_once() -> None:
    timer = PreciseTimer.create()
    assert timer is not None
    called: list[tuple[str, float]] = []
    all_called = asyncio.Event()

    def record(name: str) -> None:
        called.append((name, time.monotonic()))
        if len(called) == 4:
            all_called.set()

    start = time.monotonic()
    deadlines = {"late": start + 0.004, "early": start + 0.001, "middle": start + 0.002}
    try:
        for name, deadline in deadlines.items():
            timer.call_at(deadline, lambda name=name: record(name))
        timer.call_at(start - 1, lambda: record("passed"))
        assert [name for name, _ in called] == ["passed"]  # before call_at returned
        await asyncio.wait_for(all_called.wait(), 5)
    finally:
        timer.close()
    assert [name for name, _ in called] == ["passed", "early", "middle", "late"]
    # The timerfd goes off early_s before a deadline; the rest is spun, never cut short.
    assert all(at >= deadlines[name] for name, at in called[1:])


async def test_closing_drops_the_callbacks_not_yet_due() -> None:
    timer = PreciseTimer.create()
    assert timer is not None
    called: list[int] = []
    timer.call_at(time.monotonic() + 3600, lambda: called.append(1))
    timer.close()
    await asyncio.sleep(0)
    assert called == []
