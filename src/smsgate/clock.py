"""The only module that reads the system clock or sleeps.

Everything that waits, expires, paces or schedules takes a :class:`Clock` so that tests can drive time
with a manual clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time as Unix seconds (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def utc_datetime(unix_seconds: float) -> datetime:
    """Aware UTC datetime for a Unix timestamp."""
    return datetime.fromtimestamp(unix_seconds, tz=UTC)
