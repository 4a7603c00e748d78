"""The callback sender: delivers status and incoming-message callbacks from the store (issue 8).

Each step is one group-committed transaction that records the outcomes of finished tries, turns new
event rows into deliveries and leases the next due ones; the POSTs then run concurrently, bounded in
total (``callbacks.concurrency``) and per handler origin (``callbacks.per_url_concurrency``), with a
circuit breaker per origin (``dispatch/callback_limits.py``). A delivery claimed for a handler that is
full or resting is released untried and keeps its place.

Guarantees (http-api.md §14): everything is durable in the store, so a restart loses nothing; a
delivery is tried until a 2xx or until ``give_up_at`` has passed (then it is failed), with backoff
10 s doubling up to 1 h, slower on 429 and never sooner than its Retry-After; the callbacks of one
message go out in order. Delivery is at least once: an outcome not yet recorded when the process dies
is tried again after its lease, with the same ``X-Smsgate-Delivery`` id for the receiver to drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.webhook import PostResult, WebhookPoster
from smsgate.clock import Clock
from smsgate.config import CallbacksSettings
from smsgate.dispatch.callback_limits import HandlerLimits, origin
from smsgate.domain.callbacks import (
    DeliveryState,
    UrlOptions,
    load_fields,
    parse_retry_after,
    render_body,
    retry_delay,
    signed_fields,
    throttled_delay,
    url_options,
)
from smsgate.store.repos import callbacks as repo
from smsgate.store.repos.callbacks import CallbackTarget, DueDelivery, Outcome
from smsgate.store.writer import LIGHT_ROWS, GroupCommitWriter

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.05
TOO_MANY_REQUESTS = 429
# Handler URLs whose options (fmt, charset, signatures) are kept parsed.
MAX_CACHED_URLS = 10_000


@dataclass(slots=True)
class _Step:
    claimed: list[DueDelivery] = field(default_factory=list)
    targets: dict[int, CallbackTarget] = field(default_factory=dict)
    work: int = 0


class CallbackSender:
    """Delivers callbacks; ``run()`` forever, or ``run_until_idle()`` in tests and tools."""

    def __init__(
        self,
        writer: GroupCommitWriter,
        poster: WebhookPoster,
        clock: Clock,
        settings: CallbacksSettings,
        *,
        lease_s: float | None = None,
    ) -> None:
        self._writer = writer
        self._poster = poster
        self._clock = clock
        self._settings = settings
        self._max_age_s = float(settings.max_age)
        # A lease outlives any try (timeouts bound each one) with room to record the outcome.
        self._lease_s = lease_s or 4 * (float(settings.timeout) + float(settings.connect_timeout))
        self._limits = HandlerLimits(
            per_origin=settings.per_url_concurrency,
            failures=settings.breaker_failures,
            rest_s=float(settings.breaker_rest),
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[Outcome] = []
        self._released: list[int] = []
        self._last_work = 0
        # Which handler origin each account's callbacks went to lately (to skip resting ones).
        self._origins: dict[int, str] = {}
        # What each handler URL asks for, parsed once (a URL is read from the account at send time).
        self._options: dict[str, tuple[str, UrlOptions]] = {}

    async def step(self) -> int:
        """Record finished tries, take new events, lease and start due deliveries; work done."""
        outcomes, self._outcomes = self._outcomes, []
        released, self._released = self._released, []
        room = self._settings.concurrency - len(self._tasks)
        now = self._clock.now()
        skip = self._resting_accounts()

        async def op(conn: AsyncConnection) -> _Step:
            result = _Step(work=len(outcomes))
            await repo.record(conn, outcomes, now)
            await repo.release(conn, released)
            result.work += await repo.materialize(conn, now, self._settings.batch, self._max_age_s)
            if room > 0:
                limit = min(room, self._settings.batch)
                result.claimed = await repo.claim(conn, now, limit, now + self._lease_s, skip)
                accounts = {d.account_id for d in result.claimed}
                result.targets = await repo.targets(conn, accounts)
            return result

        try:
            # Light while the previous step found little to do (store/writer.py).
            light = max(self._last_work, len(outcomes) + len(released)) <= LIGHT_ROWS
            step = await self._writer.submit(op, light=light)
        except BaseException:
            # Not recorded: keep them for the next step (leases protect the rest meanwhile).
            self._outcomes[:0] = outcomes
            self._released[:0] = released
            raise
        self._start(step.claimed, step.targets)
        self._last_work = step.work + len(step.claimed)
        return self._last_work

    async def run_until_idle(self) -> None:
        """Work until nothing is due and nothing is in flight (time comes from the clock)."""
        while True:
            done = await self.step()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
                continue
            if not done:
                return

    async def run(self) -> None:
        while True:
            try:
                done = await self.step()
            except Exception:  # a database hiccup must not stop callbacks for good
                log.exception("callback step failed")
                done = 0
            await self._pause(busy=bool(done))

    async def close(self) -> None:
        """Stop the tries under way (their deliveries are retried after the lease)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def _pause(self, *, busy: bool) -> None:
        """Wait for room or news: a try finishing, or the idle poll when nothing much is under way.

        With many tries in flight, waits until half the capacity is free so that outcomes are
        recorded in batches rather than one transaction per callback.
        """
        low_water = self._settings.concurrency // 2
        if len(self._tasks) > low_water:
            while len(self._tasks) > low_water:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            return
        if busy and not self._tasks:
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(IDLE_POLL_S))
        try:
            await asyncio.wait({sleeper, *self._tasks}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sleeper

    def _resting_accounts(self) -> list[int]:
        now = self._clock.monotonic()
        return [a for a, key in self._origins.items() if self._limits.crowded(key, now)]

    def _start(self, claimed: Sequence[DueDelivery], targets: dict[int, CallbackTarget]) -> None:
        now = self._clock.monotonic()
        for delivery in claimed:
            target = targets.get(delivery.account_id)
            if target is None:
                self._origins.pop(delivery.account_id, None)
                self._outcomes.append(self._gave_up(delivery, "the account has no callback URL"))
                continue
            key = self._parsed(target.url)[0]
            self._origins[delivery.account_id] = key
            if not self._limits.acquire(key, now):
                self._released.append(delivery.id)
                continue
            task = asyncio.create_task(self._deliver(delivery, target, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: DueDelivery, target: CallbackTarget, key: str) -> None:
        ok = False
        try:
            result = await self._post(delivery, target)
            ok = result.ok
            self._outcomes.append(self._outcome(delivery, result))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # top of a task: one broken callback must not stop the others
            log.exception("callback %d failed", delivery.id)
            self._outcomes.append(self._outcome(delivery, PostResult(None, type(exc).__name__)))
        finally:
            self._limits.release(key, self._clock.monotonic(), ok=ok)

    async def _post(self, delivery: DueDelivery, target: CallbackTarget) -> PostResult:
        try:
            fields = load_fields(delivery.fields)
        except ValueError as exc:
            return PostResult(None, f"stored fields unreadable: {exc}", refused=True)
        options = self._parsed(target.url)[1]
        body, content_type = render_body(signed_fields(fields, options, target.secret), options)
        return await self._poster.post(target.url, body, content_type, str(delivery.id))

    def _parsed(self, url: str) -> tuple[str, UrlOptions]:
        """The origin of ``url`` and what it asks for."""
        parsed = self._options.get(url)
        if parsed is None:
            if len(self._options) >= MAX_CACHED_URLS:
                self._options.clear()
            parsed = self._options[url] = (origin(url), url_options(url))
        return parsed

    def _outcome(self, delivery: DueDelivery, result: PostResult) -> Outcome:
        now = self._clock.now()
        if result.ok:
            return Outcome(delivery.id, DeliveryState.DELIVERED, True, now, result.status, None)
        error = result.excerpt or f"HTTP {result.status}"
        if result.refused or now >= delivery.give_up_at:
            return Outcome(delivery.id, DeliveryState.FAILED, True, now, result.status, error)
        tries = delivery.attempts + 1
        if result.status == TOO_MANY_REQUESTS:
            delay = throttled_delay(tries, parse_retry_after(result.retry_after, now))
        else:
            delay = retry_delay(tries)
        return Outcome(delivery.id, DeliveryState.PENDING, True, now + delay, result.status, error)

    def _gave_up(self, delivery: DueDelivery, reason: str) -> Outcome:
        now = self._clock.now()
        return Outcome(delivery.id, DeliveryState.FAILED, False, now, None, reason)
