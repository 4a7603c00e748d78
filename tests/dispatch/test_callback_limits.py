"""Per-handler concurrency cap and circuit breaker of the callback sender."""

from __future__ import annotations

from smsgate.dispatch.callback_limits import HandlerLimits, origin


def test_origin() -> None:
    assert origin("https://Example.com/cb?x=1") == "https://example.com:443"
    assert origin("http://h:8080/a") == "http://h:8080"


def test_concurrency_cap() -> None:
    limits = HandlerLimits(per_origin=2, failures=5, rest_s=30)
    assert limits.acquire("a", 0) and limits.acquire("a", 0)
    assert not limits.acquire("a", 0)
    assert limits.acquire("b", 0)
    limits.release("a", 0, ok=True)
    assert limits.acquire("a", 0)


def test_breaker_opens_probes_and_closes() -> None:
    limits = HandlerLimits(per_origin=10, failures=3, rest_s=30)
    for _ in range(3):
        assert limits.acquire("a", 0)
        limits.release("a", 0, ok=False)
    assert limits.resting("a", 29.9) and not limits.acquire("a", 29.9)
    assert limits.acquire("a", 30)  # half-open: one probe
    assert not limits.acquire("a", 30)
    limits.release("a", 31, ok=False)  # probe failed: rest twice as long
    assert limits.resting("a", 90) and not limits.resting("a", 91)
    assert limits.acquire("a", 91)
    limits.release("a", 92, ok=True)
    assert not limits.resting("a", 92)
    assert limits.acquire("a", 92) and limits.acquire("a", 92)


def test_failures_under_way_when_it_opened_change_nothing() -> None:
    limits = HandlerLimits(per_origin=10, failures=2, rest_s=30)
    for _ in range(5):
        limits.acquire("a", 0)
    for _ in range(5):
        limits.release("a", 1, ok=False)
    assert limits.resting("a", 30) and not limits.resting("a", 31)
