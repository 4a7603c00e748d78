"""Pacing: messages per second, and backing off when throttled.

Issue 4: "maximum messages per second and maximum in flight (window); both enforced without busy
waiting". A bind's rate is about window ÷ round-trip time, capped by the contracted TPS
(field-notes.md, "Throughput is set by the SMPP window"): the window is the bind's own
(``channels/smpp/bind.py``; the dispatcher's hand-over limit is ``connectors.py``'s), the rate a
:class:`TokenBucket`, which a :class:`Pacer` pauses for a :class:`ThrottleBackoff` delay on
``ESME_RTHROTTLED``. Nothing polls: the bucket sleeps on the injected ``Clock`` for exactly the time
until its tokens accrue.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

from smsgate.clock import Clock

# Deadlines this close count as reached: float rounding must never cost an extra sleep or tick.
_TOLERANCE_S = 1e-6


@dataclass(slots=True, eq=False)
class _Reservation:
    """One waiter's claim on the bucket: ``n`` tokens, handed out at ``ready_at`` (monotonic)."""

    n: int
    zero_before: float
    ready_at: float


class TokenBucket:
    """At most ``burst + rate_per_s·(b − a)`` tokens are taken in any interval [a, b].

    The bucket holds up to ``burst`` tokens and gains ``rate_per_s`` a second, reckoned from
    ``clock.monotonic()``. It is kept as the instant its level was (or will be) zero, so every
    acquirer reserves its tokens the moment it arrives and then sleeps once, for exactly the time
    until they accrue. Reservations are made in arrival order (FIFO): no waiter is handed its
    tokens before one that arrived earlier, so a large request is never overtaken by small ones.
    A waiter cancelled before its turn gives its tokens back only when it is the last in line; in
    the middle of the queue they are forfeited rather than letting later waiters jump ahead.

    ``rate_per_s`` ≤ 0 or infinite means unlimited: only a :meth:`pause_until` holds anyone back.
    """

    def __init__(self, rate_per_s: float, burst: int, clock: Clock) -> None:
        if math.isnan(rate_per_s):
            raise ValueError("rate_per_s must be a number")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        self._burst = burst
        self._clock = clock
        self._unlimited = rate_per_s <= 0 or math.isinf(rate_per_s)
        self._interval = 0.0 if self._unlimited else 1.0 / rate_per_s
        # The instant the level is zero; starts full.
        self._zero_at = clock.monotonic() - burst * self._interval
        self._paused_until = -math.inf
        self._waiting: deque[_Reservation] = deque()

    @property
    def waiting(self) -> int:
        """How many acquirers are queued."""
        return len(self._waiting)

    @property
    def paused_until(self) -> float:
        """Monotonic instant before which no token is handed out (−inf when never paused)."""
        return self._paused_until

    async def acquire(self, n: int = 1) -> None:
        """Take ``n`` tokens, waiting in FIFO order behind earlier acquirers until they accrue."""
        if self.try_acquire(n):
            return  # nobody waits and they are there: what reserving and not sleeping would do
        reservation = self._reserve(n)
        try:
            # Loops again only when a pause moved this reservation later while it slept.
            while (delay := reservation.ready_at - self._clock.monotonic()) > _TOLERANCE_S:
                await self._clock.sleep(delay - _TOLERANCE_S / 2)
        except BaseException:
            self._cancel(reservation)
            raise
        self._waiting.remove(reservation)

    def try_acquire(self, n: int = 1) -> bool:
        """Take ``n`` tokens if nobody is waiting and they are there now; never waits."""
        self._check(n)
        now = self._clock.monotonic()
        if self._waiting or now < self._paused_until - _TOLERANCE_S:
            return False
        if self._unlimited:
            return True
        zero = max(self._zero_at, now - self._burst * self._interval)
        if zero + n * self._interval - now > _TOLERANCE_S:
            return False
        self._zero_at = zero + n * self._interval
        return True

    def take_up_to(self, n: int) -> int:
        """Take as many of ``n`` tokens as have accrued now (none while paused or while others
        wait); never waits. For callers that hand over in batches and defer the rest."""
        if n < 1:
            return 0
        now = self._clock.monotonic()
        if self._waiting or now < self._paused_until - _TOLERANCE_S:
            return 0
        if self._unlimited:
            return n
        zero = max(self._zero_at, now - self._burst * self._interval)
        taken = min(n, int((now - zero + _TOLERANCE_S) / self._interval))
        self._zero_at = zero + taken * self._interval
        return taken

    def delay_for(self, n: int) -> float:
        """Seconds from now until ``n`` more tokens will have accrued (or a pause has ended)."""
        now = self._clock.monotonic()
        paused = max(0.0, self._paused_until - now)
        if self._unlimited:
            return paused
        zero = max(self._zero_at, now - self._burst * self._interval)
        return max(paused, zero + n * self._interval - now)

    def pause_until(self, until: float) -> None:
        """Hand out nothing before the monotonic instant ``until``, then resume from one token.

        The bucket is emptied so that one token has accrued at ``until``: sending resumes at the
        steady rate, not with a burst. Queued waiters keep their order and move later as needed.
        A pause never shortens an earlier, longer one.
        """
        self._paused_until = max(self._paused_until, until)
        if self._unlimited:
            for reservation in self._waiting:
                reservation.ready_at = max(reservation.ready_at, until)
            return
        base = self._waiting[0].zero_before if self._waiting else self._zero_at
        zero = max(base, until - self._interval)
        for reservation in self._waiting:
            reservation.zero_before = zero
            zero += reservation.n * self._interval
            reservation.ready_at = max(reservation.ready_at, zero, until)
        self._zero_at = zero

    def _check(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        if n > self._burst and not self._unlimited:
            raise ValueError(f"n={n} exceeds the burst of {self._burst}; it could never be met")

    def _reserve(self, n: int) -> _Reservation:
        self._check(n)
        now = self._clock.monotonic()
        zero = max(self._zero_at, now - self._burst * self._interval)
        if not self._unlimited:
            self._zero_at = zero + n * self._interval
        reservation = _Reservation(n, zero, max(now, self._zero_at, self._paused_until))
        self._waiting.append(reservation)
        return reservation

    def _cancel(self, reservation: _Reservation) -> None:
        last = self._waiting[-1] is reservation
        self._waiting.remove(reservation)
        if last and not self._unlimited:
            self._zero_at = reservation.zero_before


@dataclass(frozen=True, slots=True)
class ThrottleBackoff:
    """How long to stop sending after ``ESME_RTHROTTLED`` (SMPP 3.4 §5.1.3); pure, time passed in.

    The first throttle pauses for the base delay; each throttle that arrives after the previous
    pause has ended doubles it, up to ``cap_s``, until :meth:`on_ok` resets the streak. Throttles
    that arrive while a pause is running answer messages sent before it and do not escalate (a
    window of 10 answered with 10 throttles is one event, not ten).
    """

    cap_s: float = 60.0
    streak: int = 0
    resume_at: float = -math.inf

    def __post_init__(self) -> None:
        if not self.cap_s > 0:
            raise ValueError(f"cap_s must be positive, not {self.cap_s}")

    def next_delay(self, base_s: float) -> float:
        """The pause the next escalating throttle gets: ``base_s · 2**streak``, capped."""
        if not 0 < base_s < math.inf:
            raise ValueError(f"base_s must be positive and finite, not {base_s}")
        return min(self.cap_s, base_s * 2.0 ** min(self.streak, 64))  # 2**64: no overflow

    def on_throttled(self, now: float, base_s: float) -> ThrottleBackoff:
        """The state after a throttle at ``now``: a longer pause, or unchanged while paused."""
        delay = self.next_delay(base_s)
        if now < self.resume_at:
            return self
        return replace(self, streak=self.streak + 1, resume_at=now + delay)

    def on_ok(self) -> ThrottleBackoff:
        """The state after an accepted message: the next throttle starts from the base again."""
        return self if self.streak == 0 else replace(self, streak=0)


class Pacer:
    """One bind's pacing: ``tps`` sends per second, paused and backed off when the SMSC throttles.

    The bind takes a token from :attr:`bucket` only once its window has room (``channels/smpp/bind.py``
    keeps the window), so a message never holds a token while it waits for a slot. ``tps`` ≤ 0 or
    infinite means no rate limit. The default burst of 1 allows at most ``tps`` sends in any
    half-open second, whichever second the operator counts.
    """

    def __init__(
        self,
        tps: float,
        clock: Clock,
        *,
        burst: int = 1,
        backoff: ThrottleBackoff | None = None,
    ) -> None:
        self._clock = clock
        self._bucket = TokenBucket(tps, burst, clock)
        self._backoff = backoff if backoff is not None else ThrottleBackoff()

    @property
    def bucket(self) -> TokenBucket:
        return self._bucket

    def throttled(self, backoff_s: float) -> float:
        """React to ``ESME_RTHROTTLED``: pause sending; returns the seconds until it resumes.

        ``backoff_s`` is the base delay; repeated throttles double it up to the backoff's cap.
        """
        now = self._clock.monotonic()
        self._backoff = self._backoff.on_throttled(now, backoff_s)
        self._bucket.pause_until(self._backoff.resume_at)
        return max(0.0, self._backoff.resume_at - now)

    def ok(self) -> None:
        """A message was accepted: the next throttle starts from the base delay (a running pause
        stays; the answer may be to a message sent before it)."""
        self._backoff = self._backoff.on_ok()
