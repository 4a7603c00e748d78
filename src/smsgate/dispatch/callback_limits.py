"""Per-handler limits of the callback sender: a concurrency cap and a circuit breaker.

Both are kept per origin (scheme, host, port) so that one dead or slow handler cannot take the
sender's capacity from the others. The breaker opens after ``failures`` failures in a row and lets
nothing through for ``rest_s``; then one probe goes through (half-open): success closes it, failure
opens it again for twice as long, up to ``MAX_REST_S``. Times are ``Clock.monotonic()`` seconds,
passed in, so the rules are tested without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_REST_S = 3600.0


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL; the key of the per-handler limits."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return url
    return f"{parts.scheme}://{parts.hostname}:{port}"


@dataclass(slots=True)
class _Breaker:
    failures: int = 0
    open_until: float | None = None
    rest_s: float = 0.0
    probing: bool = False


class HandlerLimits:
    """In-flight counts and breakers of every handler origin seen."""

    def __init__(self, *, per_origin: int, failures: int, rest_s: float) -> None:
        self._per_origin = per_origin
        self._failures = failures
        self._rest_s = rest_s
        self._in_flight: dict[str, int] = {}
        self._breakers: dict[str, _Breaker] = {}

    def resting(self, key: str, now: float) -> bool:
        """True while the breaker of ``key`` is open, or half-open with its probe out."""
        breaker = self._breakers.get(key)
        if breaker is None or breaker.open_until is None:
            return False
        return now < breaker.open_until or breaker.probing

    def full(self, key: str, now: float) -> bool:
        """No room for another callback to ``key`` now (resting, or at the concurrency cap)."""
        return self.resting(key, now) or self._in_flight.get(key, 0) >= self._per_origin

    def acquire(self, key: str, now: float) -> bool:
        """Take a slot for one callback to ``key``; False when there is none."""
        if self.full(key, now):
            return False
        breaker = self._breakers.get(key)
        if breaker is not None and breaker.open_until is not None:
            breaker.probing = True  # half-open: this one is the probe
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return True

    def release(self, key: str, now: float, *, ok: bool) -> None:
        """Give the slot back with the callback's outcome."""
        count = self._in_flight.get(key, 0) - 1
        if count > 0:
            self._in_flight[key] = count
        else:
            self._in_flight.pop(key, None)
        breaker = self._breakers.setdefault(key, _Breaker())
        if ok:
            self._breakers.pop(key, None)
            return
        breaker.failures += 1
        if breaker.probing:  # the probe failed: rest again, twice as long
            breaker.rest_s = min(MAX_REST_S, breaker.rest_s * 2)
            breaker.open_until = now + breaker.rest_s
            breaker.probing = False
        elif breaker.open_until is None and breaker.failures >= self._failures:
            breaker.rest_s = self._rest_s
            breaker.open_until = now + breaker.rest_s
        # Failures of callbacks that were under way when the breaker opened change nothing.

    def crowded(self, key: str, now: float) -> bool:
        """Resting, or less than half its slots free: not worth claiming more for it now (a claim
        would mostly be handed back untried)."""
        return self.resting(key, now) or 2 * self._in_flight.get(key, 0) >= self._per_origin

    def in_flight(self, key: str) -> int:
        return self._in_flight.get(key, 0)
