"""Sub-millisecond waits for the simulator's latency, on a Linux timerfd.

The event loop's timers have millisecond resolution (libuv's clock under uvloop, the ``epoll_wait``
timeout under asyncio): a 1 ms wait ends anywhere between 1 and 2 ms later. A simulated SMSC that
answers each submit_sm 1 ms after it arrived would then answer after 1.5 ms on average, and a bind's
ceiling (window ÷ RTT) could never be approached, whatever the ESME does. A timerfd is armed with
an absolute ``CLOCK_MONOTONIC`` time in nanoseconds and becomes readable when it passes; the loop
watches it like a socket, so the wait ends within the loop's reaction time, not the next tick.

That reaction time is itself tens of microseconds when the process sleeps in ``epoll_wait`` (the
kernel has to wake it; longer in a virtual machine). So the timerfd is armed ``early_s`` before the
deadline and the last stretch is spun on ``time.monotonic()``: a little CPU (at most ``early_s`` per
wake-up) for answers that leave within a few microseconds of their deadline.

``PreciseTimer.create()`` returns None where timerfd is not available (not Linux); callers then use
the event loop's own timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import heapq
import itertools
import os
import sys
import time
from collections.abc import Callable

_CLOCK_MONOTONIC = 1  # the clock of time.monotonic() on Linux
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_Due = asyncio.Future[None] | Callable[[], object]

# How much earlier than a deadline the timerfd goes off; the rest is spun. Waking a process that
# sleeps in epoll takes 30-70 µs here (a virtual machine), which a 1 ms latency would otherwise carry.
EARLY_S = 75e-6


class PreciseTimer:
    """Callbacks run, and futures complete, at given ``time.monotonic()`` deadlines, on one timerfd."""

    def __init__(
        self,
        libc: ctypes.CDLL,
        fd: int,
        loop: asyncio.AbstractEventLoop,
        *,
        early_s: float = EARLY_S,
    ) -> None:
        self._early_s = early_s
        self._fd = fd
        self._loop = loop
        self._settime = libc.timerfd_settime
        # Declared once, with one spec reused: an arm is a few hundred nanoseconds of ctypes, not
        # the microseconds of converting untyped arguments on every call.
        self._settime.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(_Itimerspec),
            ctypes.c_void_p,
        ]
        self._settime.restype = ctypes.c_int
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)
        self._waiting: list[tuple[float, int, _Due]] = []
        self._order = itertools.count()  # ties keep their order; what is due is never compared
        self._armed_for: float | None = None
        loop.add_reader(fd, self._fire)

    @classmethod
    def create(cls, *, early_s: float = EARLY_S) -> PreciseTimer | None:
        """A timer on the running loop, or None where timerfd is not available."""
        if not sys.platform.startswith("linux"):
            return None
        name = ctypes.util.find_library("c")
        if name is None:
            return None
        libc = ctypes.CDLL(name, use_errno=True)
        fd = libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            return None
        return cls(libc, fd, asyncio.get_running_loop(), early_s=early_s)

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``time.monotonic()`` has reached ``deadline``."""
        if deadline <= time.monotonic():
            return
        future: asyncio.Future[None] = self._loop.create_future()
        self._push(deadline, future)
        await future

    def call_at(self, deadline: float, callback: Callable[[], object]) -> None:
        """Call ``callback()`` once ``time.monotonic()`` has reached ``deadline``: from the timer's
        own wake-up, not a pass of the loop later (at once when the deadline has passed). Not
        called at all once the timer is closed."""
        if deadline <= time.monotonic():
            callback()
            return
        self._push(deadline, callback)

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        for _, _, due in self._waiting:
            if isinstance(due, asyncio.Future):
                due.cancel()
        self._waiting.clear()

    def _push(self, deadline: float, due: _Due) -> None:
        heapq.heappush(self._waiting, (deadline, next(self._order), due))
        if self._armed_for is None or deadline < self._armed_for:
            self._arm(deadline)

    def _fire(self) -> None:
        # The expiry count; nothing to read when re-armed for later since it became readable.
        with contextlib.suppress(BlockingIOError):
            os.read(self._fd, 8)
        self._armed_for = None
        now = time.monotonic()
        waiting = self._waiting
        while waiting and (deadline := waiting[0][0]) <= now + self._early_s:
            while now < deadline:  # the last stretch, spun (module docstring)
                now = time.monotonic()
            _, _, due = heapq.heappop(waiting)
            if not isinstance(due, asyncio.Future):
                due()
            elif not due.done():
                due.set_result(None)
        if waiting:
            self._arm(waiting[0][0])

    def _arm(self, deadline: float) -> None:
        self._armed_for = deadline
        deadline -= self._early_s
        seconds = int(deadline)
        value = self._spec.it_value
        value.tv_sec = seconds
        value.tv_nsec = max(1, int((deadline - seconds) * 1e9))
        if self._settime(self._fd, _TFD_TIMER_ABSTIME, self._spec_ref, None):
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
