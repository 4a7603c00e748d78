"""Guards not reachable through balance.php yet: the failed-sends lockout and purging."""

from __future__ import annotations

import pytest

from smsgate.domain.codes import RequestErrorCode
from smsgate.errors import RequestError
from smsgate.services.container import Services
from smsgate.services.guards import request_fingerprint
from tests.conftest import table_count
from tests.support.clock import ManualClock

IP = "192.0.2.44"


async def test_hundred_consecutive_failed_sends_block_the_ip(
    services: Services, clock: ManualClock
) -> None:
    for _ in range(99):
        await services.guards.send_outcome(IP, ok=False)
    await services.guards.check_ip(IP)  # 99 failures: not yet
    await services.guards.send_outcome(IP, ok=False)
    with pytest.raises(RequestError) as blocked:
        await services.guards.check_ip(IP)
    assert blocked.value.code is RequestErrorCode.IP_BLOCKED
    await clock.advance(10 * 60 + 1)
    await services.guards.check_ip(IP)


async def test_a_success_resets_the_run(services: Services) -> None:
    for _ in range(99):
        await services.guards.send_outcome(IP, ok=False)
    await services.guards.send_outcome(IP, ok=True)
    for _ in range(99):
        await services.guards.send_outcome(IP, ok=False)
    await services.guards.check_ip(IP)


async def test_identical_request_limit(services: Services, clock: ManualClock) -> None:
    fingerprint = request_fingerprint("/sys/send.php", {"phones": "79990000001", "mes": "hi"})
    await services.guards.check_rate("alice", fingerprint, 1)
    with pytest.raises(RequestError) as refused:
        await services.guards.check_rate("alice", fingerprint, 1, description="duplicate")
    assert refused.value.code is RequestErrorCode.TOO_MANY
    assert refused.value.description == "duplicate"
    await services.guards.check_rate("bob", fingerprint, 1)  # per login
    await clock.advance(61)
    await services.guards.check_rate("alice", fingerprint, 1)


def test_fingerprint_ignores_credentials_and_format() -> None:
    a = request_fingerprint("/sys/send.php", {"login": "a", "psw": "x", "fmt": "3", "mes": "hi"})
    b = request_fingerprint("/sys/send.php", {"apikey": "k", "charset": "utf-8", "mes": "hi"})
    c = request_fingerprint("/sys/send.php", {"mes": "hi!"})
    d = request_fingerprint("/sys/status.php", {"mes": "hi"})
    assert a == b and a != c and a != d


async def test_purge_drops_rows_no_window_reaches(services: Services, clock: ManualClock) -> None:
    await services.guards.auth_failed(IP)
    await services.guards.check_rate("alice", "fp", 5)
    await clock.advance(3600)
    await services.guards.purge()
    assert await table_count(services, "auth_failures") == 0
    assert await table_count(services, "request_log") == 0
