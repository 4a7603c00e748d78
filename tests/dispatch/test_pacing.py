"""Pacing (issue 4): token bucket, window, throttle backoff and the pacer that combines them.

Time moves only through ``ManualClock.advance``; ``settle`` lets ready tasks run without time passing.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.dispatch.pacing import Pacer, ThrottleBackoff, TokenBucket
from tests.support.clock import ManualClock


async def settle() -> None:
    """Let every task that can run do so until it blocks again; no time passes."""
    for _ in range(10):
        await asyncio.sleep(0)


async def advance_in_steps(clock: ManualClock, step: float, count: int) -> None:
    for _ in range(count):
        await clock.advance(step)
        await settle()


async def acquire_at(bucket: TokenBucket, clock: ManualClock, start: float, n: int = 1) -> float:
    """Acquire and report when, in seconds since ``start``, the tokens were handed over."""
    await bucket.acquire(n)
    return clock.monotonic() - start


# --- TokenBucket -------------------------------------------------------------------------------


async def test_ten_per_second_with_burst_one_completes_every_tenth_of_a_second(
    clock: ManualClock,
) -> None:
    bucket = TokenBucket(10, 1, clock)
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(acquire_at(bucket, clock, start)) for _ in range(25)]
        await settle()
        # Half-period steps: nothing may complete early, and nothing late.
        await advance_in_steps(clock, 0.05, 48)
    assert [task.result() for task in tasks] == pytest.approx([k / 10 for k in range(25)])


async def test_a_full_bucket_gives_its_burst_at_once_then_the_rate(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 5, clock)
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(acquire_at(bucket, clock, start)) for _ in range(7)]
        await settle()
        await advance_in_steps(clock, 0.05, 4)
    assert [task.result() for task in tasks] == pytest.approx([0, 0, 0, 0, 0, 0.1, 0.2])


async def test_an_idle_bucket_refills_only_up_to_its_burst(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 3, clock)
    assert bucket.try_acquire(3)
    await clock.advance(60)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


async def test_try_acquire_takes_only_what_is_there(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 2, clock)
    assert bucket.try_acquire()
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    await clock.advance(0.1)
    assert not bucket.try_acquire(2)
    assert bucket.try_acquire()


async def test_try_acquire_does_not_jump_the_queue(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 3, clock)
    assert bucket.try_acquire(3)
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        big = tg.create_task(acquire_at(bucket, clock, start, 3))
        await settle()
        await advance_in_steps(clock, 0.1, 1)
        assert not bucket.try_acquire()  # a token has accrued, but it is promised to `big`
        await advance_in_steps(clock, 0.1, 2)
    assert big.result() == pytest.approx(0.3)


@pytest.mark.parametrize("rate", [0.0, -1.0, math.inf])
async def test_zero_negative_or_infinite_rate_is_unlimited(clock: ManualClock, rate: float) -> None:
    bucket = TokenBucket(rate, 1, clock)
    for _ in range(1000):
        await bucket.acquire(5)
    assert all(bucket.try_acquire() for _ in range(1000))


async def test_an_unlimited_bucket_still_honours_a_pause(clock: ManualClock) -> None:
    bucket = TokenBucket(math.inf, 1, clock)
    start = clock.monotonic()
    bucket.pause_until(start + 2)
    assert not bucket.try_acquire()
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(acquire_at(bucket, clock, start)) for _ in range(3)]
        await settle()
        await advance_in_steps(clock, 1, 1)
        bucket.pause_until(start + 3)  # extended while they wait
        await advance_in_steps(clock, 1, 2)
    assert [task.result() for task in tasks] == pytest.approx([3, 3, 3])


@pytest.mark.parametrize(("rate", "burst"), [(math.nan, 1), (10, 0), (10, -3)])
def test_bad_bucket_settings_are_refused(clock: ManualClock, rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, clock)


@pytest.mark.parametrize("n", [0, -1, 4])
async def test_requests_that_could_never_be_met_are_refused(clock: ManualClock, n: int) -> None:
    bucket = TokenBucket(10, 3, clock)
    with pytest.raises(ValueError):
        await bucket.acquire(n)
    with pytest.raises(ValueError):
        bucket.try_acquire(n)
    assert bucket.waiting == 0


async def test_waiters_are_served_in_arrival_order(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 1, clock)
    assert bucket.try_acquire()
    served: list[int] = []

    async def waiter(i: int) -> None:
        await bucket.acquire()
        served.append(i)

    async with asyncio.TaskGroup() as tg:
        for i in range(8):
            tg.create_task(waiter(i))
        await settle()
        assert bucket.waiting == 8
        await advance_in_steps(clock, 0.1, 8)
    assert served == list(range(8))


async def test_a_large_request_is_not_overtaken_by_small_ones(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 5, clock)
    assert bucket.try_acquire(5)
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        big = tg.create_task(acquire_at(bucket, clock, start, 5))
        await settle()
        small = []
        for _ in range(10):  # a steady stream of small requests, each arriving as a token accrues
            small.append(tg.create_task(acquire_at(bucket, clock, start)))
            await settle()
            await advance_in_steps(clock, 0.1, 1)
        await advance_in_steps(clock, 0.1, 10)
    assert big.result() == pytest.approx(0.5)
    assert [task.result() for task in small] == pytest.approx([k / 10 for k in range(6, 16)])


async def test_a_cancelled_last_waiter_gives_its_tokens_back(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 1, clock)
    assert bucket.try_acquire()
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        first = tg.create_task(acquire_at(bucket, clock, start))
        cancelled = tg.create_task(acquire_at(bucket, clock, start))
        await settle()
        cancelled.cancel()
        await settle()
        last = tg.create_task(acquire_at(bucket, clock, start))
        await settle()
        await advance_in_steps(clock, 0.1, 2)
    assert cancelled.cancelled()
    assert (first.result(), last.result()) == pytest.approx((0.1, 0.2))
    assert bucket.waiting == 0


async def test_a_cancelled_middle_waiter_does_not_let_anyone_jump_ahead(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 1, clock)
    assert bucket.try_acquire()
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        first, cancelled, third = (
            tg.create_task(acquire_at(bucket, clock, start)) for _ in range(3)
        )
        await settle()
        cancelled.cancel()
        await settle()
        late = tg.create_task(acquire_at(bucket, clock, start))
        await settle()
        await advance_in_steps(clock, 0.1, 4)
    # The cancelled waiter's token is forfeited: the waiters behind it keep their places and times.
    assert (first.result(), third.result(), late.result()) == pytest.approx((0.1, 0.3, 0.4))


async def test_a_pause_holds_everything_and_resumes_without_a_burst(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 5, clock)
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        bucket.pause_until(start + 1)
        tasks = [tg.create_task(acquire_at(bucket, clock, start)) for _ in range(3)]
        await settle()
        await advance_in_steps(clock, 0.1, 12)
    assert [task.result() for task in tasks] == pytest.approx([1.0, 1.1, 1.2])


async def test_a_pause_moves_sleeping_waiters_later_in_order(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 1, clock)
    assert bucket.try_acquire()
    start = clock.monotonic()
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(acquire_at(bucket, clock, start)) for _ in range(3)]
        await settle()
        await advance_in_steps(clock, 0.1, 1)  # the first is served at 0.1
        bucket.pause_until(clock.monotonic() + 0.5)
        await advance_in_steps(clock, 0.1, 8)
    assert [task.result() for task in tasks] == pytest.approx([0.1, 0.6, 0.7])


async def test_a_shorter_pause_does_not_cut_a_longer_one(clock: ManualClock) -> None:
    bucket = TokenBucket(10, 1, clock)
    start = clock.monotonic()
    bucket.pause_until(start + 2)
    bucket.pause_until(start + 1)
    assert bucket.paused_until == start + 2


def next_deadline(clock: ManualClock) -> float:
    """When the clock's earliest pending sleeper is due; inf when nobody sleeps (the property test
    must see each completion at its instant)."""
    due = clock.next_deadline()
    return math.inf if due is None else due


async def _simulate(
    rate: float, burst: int, requests: list[tuple[float, int]]
) -> list[tuple[float, int]]:
    """Run ``requests`` (arrival second, tokens) against a bucket, moving the clock from event to
    event so that every completion is seen at the exact instant it happens; return (when, tokens)."""
    clock = ManualClock()
    bucket = TokenBucket(rate, burst, clock)
    start = clock.monotonic()
    arrivals = sorted((start + at, n) for at, n in requests)
    tasks: list[tuple[asyncio.Task[float], int]] = []
    async with asyncio.TaskGroup() as tg:
        while True:
            target = min(arrivals[0][0] if arrivals else math.inf, next_deadline(clock))
            if target == math.inf:
                break
            await clock.advance(max(0.0, target - clock.monotonic()))
            while arrivals and arrivals[0][0] <= clock.monotonic():
                _, n = arrivals.pop(0)
                tasks.append((tg.create_task(acquire_at(bucket, clock, start, n)), n))
            await settle()
    return [(task.result(), n) for task, n in tasks]


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=50),
    burst=st.integers(min_value=1, max_value=5),
    raw=st.lists(
        st.tuples(st.floats(min_value=0, max_value=2), st.integers(min_value=1, max_value=5)),
        min_size=1,
        max_size=15,
    ),
)
def test_no_interval_ever_gets_more_than_burst_plus_rate_times_its_length(
    rate: float, burst: int, raw: list[tuple[float, int]]
) -> None:
    requests = [(at, min(n, burst)) for at, n in raw]
    done = sorted(asyncio.run(_simulate(rate, burst, requests)))
    assert len(done) == len(requests)  # everyone is served
    slack = rate * 1e-6 + 1e-9  # deadlines are met to within a microsecond
    for i, (a, _) in enumerate(done):
        taken = 0
        for b, n in done[i:]:
            taken += n
            assert taken <= burst + rate * (b - a) + slack
        assert sum(n for t, n in done if t <= a) <= burst + rate * a + slack


# --- ThrottleBackoff ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("streak", "expected"),
    [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (10, 60.0), (10_000, 60.0)],
)
def test_the_delay_doubles_up_to_the_cap(streak: int, expected: float) -> None:
    assert ThrottleBackoff(cap_s=60, streak=streak).next_delay(1.0) == expected


def test_throttles_after_the_pause_escalate_and_ok_resets() -> None:
    backoff = ThrottleBackoff(cap_s=60).on_throttled(100.0, 0.5)
    assert (backoff.streak, backoff.resume_at) == (1, 100.5)
    backoff = backoff.on_throttled(100.5, 0.5)
    assert (backoff.streak, backoff.resume_at) == (2, 101.5)
    backoff = backoff.on_ok().on_throttled(200.0, 0.5)
    assert (backoff.streak, backoff.resume_at) == (1, 200.5)


def test_throttles_during_a_pause_do_not_escalate() -> None:
    backoff = ThrottleBackoff().on_throttled(100.0, 1.0)
    assert backoff.on_throttled(100.2, 1.0) == backoff


@pytest.mark.parametrize("base", [0.0, -1.0, math.inf, math.nan])
def test_a_base_delay_must_be_positive_and_finite(base: float) -> None:
    with pytest.raises(ValueError):
        ThrottleBackoff().on_throttled(0.0, base)


@pytest.mark.parametrize("cap", [0.0, -1.0, math.nan])
def test_a_cap_must_be_positive(cap: float) -> None:
    with pytest.raises(ValueError):
        ThrottleBackoff(cap_s=cap)


# --- Pacer -------------------------------------------------------------------------------------
# Window and rate together are the bind's: tests/channels/smpp/test_bind.py.


async def test_throttling_pauses_sending_and_doubles_until_ok(clock: ManualClock) -> None:
    pacer = Pacer(tps=100, clock=clock, backoff=ThrottleBackoff(cap_s=5))
    start = clock.monotonic()
    assert pacer.throttled(1.0) == 1.0
    assert pacer.throttled(1.0) == 1.0  # the rest of the window's answers: no escalation
    async with asyncio.TaskGroup() as tg:
        resumed = tg.create_task(pacer.bucket.acquire())
        await settle()
        await advance_in_steps(clock, 0.5, 2)
    assert resumed.done() and clock.monotonic() - start == pytest.approx(1.0)
    delays = []
    for _ in range(4):
        delays.append(pacer.throttled(1.0))
        await clock.advance(delays[-1])
    assert delays == [2.0, 4.0, 5.0, 5.0]
    pacer.ok()
    assert pacer.throttled(1.0) == 1.0


async def test_ok_does_not_lift_a_running_pause(clock: ManualClock) -> None:
    pacer = Pacer(tps=0, clock=clock)
    start = clock.monotonic()
    pacer.throttled(2.0)
    pacer.ok()
    assert not pacer.bucket.try_acquire()
    assert pacer.bucket.paused_until == start + 2.0
