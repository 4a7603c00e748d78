"""Sub-millisecond waits for the simulator's latency, on a Linux timerfd.

The event loop's timers have millisecond resolution (libuv's clock under uvloop, the ``epoll_wait``
timeout under asyncio): a 1 ms wait ends anywhere between 1 and 2 ms later. A simulated SMSC that
answers each submit_sm 1 ms after it arrived would then answer after 1.5 ms on average, and a bind's
ceiling (window ÷ RTT) could never be approached, whatever the ESME does. A timerfd is armed with
an absolute ``CLOCK_MONOTONIC`` time in nanoseconds and becomes readable when it passes; the loop
watches it like a socket, so the wait ends within the loop's reaction time, not the next tick.

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

_CLOCK_MONOTONIC = 1  # the clock of time.monotonic() on Linux
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class PreciseTimer:
    """Futures that complete at given ``time.monotonic()`` deadlines, on one timerfd."""

    def __init__(self, libc: ctypes.CDLL, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self._libc = libc
        self._fd = fd
        self._loop = loop
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # ties keep their order; futures are never compared
        self._armed_for: float | None = None
        loop.add_reader(fd, self._fire)

    @classmethod
    def create(cls) -> PreciseTimer | None:
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
        return cls(libc, fd, asyncio.get_running_loop())

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``time.monotonic()`` has reached ``deadline``."""
        if deadline <= time.monotonic():
            return
        future: asyncio.Future[None] = self._loop.create_future()
        heapq.heappush(self._waiting, (deadline, next(self._order), future))
        if self._armed_for is None or deadline < self._armed_for:
            self._arm(deadline)
        await future

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        for _, _, future in self._waiting:
            future.cancel()
        self._waiting.clear()

    def _fire(self) -> None:
        # The expiry count; nothing to read when re-armed for later since it became readable.
        with contextlib.suppress(BlockingIOError):
            os.read(self._fd, 8)
        self._armed_for = None
        now = time.monotonic()
        while self._waiting and self._waiting[0][0] <= now:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
        if self._waiting:
            self._arm(self._waiting[0][0])

    def _arm(self, deadline: float) -> None:
        seconds = int(deadline)
        spec = _Itimerspec(
            _Timespec(0, 0), _Timespec(seconds, max(1, int((deadline - seconds) * 1e9)))
        )
        if self._libc.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None):
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
        self._armed_for = deadline
