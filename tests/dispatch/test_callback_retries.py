"""Callbacks while the handler is down: the documented schedule on a manual clock, 429 with
Retry-After, nothing lost across a restart, a dead handler not holding up the others, and the
refusal of private addresses (http-api.md §14, issue 8)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsgate.app import open_services
from smsgate.config import CallbacksSettings, Settings
from smsgate.domain.callbacks import DeliveryState
from smsgate.services.callbacks import CallbackError
from smsgate.services.container import Services
from smsgate.store.repos import callbacks as repo
from tests.conftest import make_settings
from tests.dispatch.callback_support import (
    account_with_handler,
    callback_sender,
    expected_changes,
    phones,
    send_and_dispatch,
)
from tests.peers.callback_receiver import CallbackReceiver
from tests.support.clock import ManualClock


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, SMSGATE_CALLBACKS_ALLOW_PRIVATE_NETWORKS="1")


@pytest.fixture
async def receiver(clock: ManualClock) -> AsyncIterator[CallbackReceiver]:
    handler = CallbackReceiver(clock)
    await handler.start()
    yield handler
    await handler.stop()


async def test_retry_schedule_through_503_refused_and_429(
    services: Services, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    account = await account_with_handler(services, "shop", receiver.url("fmt=3"))
    await send_and_dispatch(services, clock, account, phones(1))
    start = clock.now()

    def tries() -> list[float]:
        return [r.at - start for r in receiver.received]

    async with callback_sender(services, clock) as sender:

        async def at(offset: float) -> None:
            await clock.advance(start + offset - clock.now())
            await sender.run_until_idle()

        receiver.status = 503
        await at(0)
        await at(9.5)
        assert tries() == [0]  # not before 10 s
        await at(10)
        await at(30)
        await receiver.stop()  # connection refused from now on
        await at(70)
        await receiver.start()  # back on the same port, but throttling
        receiver.status, receiver.retry_after = 429, "300"
        await at(150)
        receiver.status, receiver.retry_after = 200, None
        await at(469)  # not before Retry-After (300 s) nor twice the step (2 × 160 s)
        assert tries() == [0, 10, 30, 150]
        await at(470)
    assert tries() == [0, 10, 30, 150, 470, 470]
    statuses = [dict(r.fields)["status"] for r in receiver.received]
    assert statuses == ["0"] * 5 + ["1"]  # "delivered" waited behind its "transferred"
    async with services.db.read() as conn:
        records = await repo.list_for_account(conn, account.id, None, 10)
    assert {r.state for r in records} == {DeliveryState.DELIVERED}
    assert [r.attempts for r in records] == [1, 6]  # 503, 503, 503, refused, 429, 200
    assert records[1].last_status == 200


async def test_last_error_is_a_short_clean_excerpt(
    services: Services, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    account = await account_with_handler(services, "shop", receiver.url())
    await send_and_dispatch(services, clock, account, phones(1))
    receiver.status = 503
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()
    (*_, record) = await services.callbacks.deliveries("shop", DeliveryState.PENDING)  # oldest
    assert record.last_status == 503
    assert record.last_error is not None
    assert record.last_error.startswith("not now")
    assert len(record.last_error) <= 200 and record.last_error.isprintable()


async def test_gives_up_after_a_day_and_retry_from_the_cli_service(
    services: Services, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    account = await account_with_handler(services, "shop", receiver.url())
    await send_and_dispatch(services, clock, account, phones(1))
    receiver.status = 500
    tries_at = []
    async with callback_sender(services, clock) as sender:
        while clock.now() < 1_764_000_000 + 2 * 86400:
            await sender.run_until_idle()
            tries_at = [r.at for r in receiver.received]  # the first's, then the second's
            await clock.advance(600)
        failed = await services.callbacks.deliveries("shop", DeliveryState.FAILED)
        # The first after trying for a day; the second, as old, after its first try behind it.
        assert len(failed) == 2
        assert tries_at[-2] - tries_at[0] >= 86400
        first = tries_at[:-1]
        gaps = [b - a for a, b in zip(first, first[1:], strict=False)]
        assert max(gaps) <= 3600 + 600  # at most 1 h apart (+ the test's 10-minute steps)
        receiver.status = 200
        assert await services.callbacks.retry("shop") == 2
        await sender.run_until_idle()
    assert [dict(r.fields)["status"] for r in receiver.unique().values()] == ["0", "1"]
    assert (await services.callbacks.deliveries("shop", DeliveryState.FAILED)) == []
    assert account.id


async def test_restart_in_between_loses_nothing(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    await receiver.stop()
    async with open_services(settings, clock) as services:
        account = await account_with_handler(services, "shop", receiver.url("fmt=2"))
        await send_and_dispatch(services, clock, account, phones(100))
        expected = await expected_changes(services, account.id)
        async with callback_sender(services, clock) as sender:
            await sender.run_until_idle()  # handler down: every try fails
    await receiver.start()
    async with open_services(settings, clock) as services:  # "restarted"
        async with callback_sender(services, clock) as sender:
            await sender.step()  # tries under way when the process dies…
            await sender.close()
        async with callback_sender(services, clock) as sender:
            for _ in range(40):
                await clock.advance(120)  # …are tried again after their lease
                await sender.run_until_idle()
        async with services.db.read() as conn:
            assert await repo.count_by_state(conn) == {DeliveryState.DELIVERED: 200}
    got = [(dict(r.fields)["phone"], dict(r.fields)["status"]) for r in receiver.unique().values()]
    assert Counter(got) == Counter(expected)


async def test_a_dead_handler_does_not_hold_up_the_others(
    services: Services, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    dead = CallbackReceiver(clock)
    await dead.start()
    await dead.stop()  # its port now refuses connections
    sick = await account_with_handler(services, "sick", dead.url())
    well = await account_with_handler(services, "well", receiver.url())
    await send_and_dispatch(services, clock, sick, phones(200))
    await send_and_dispatch(services, clock, well, phones(200, start=1000))
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()
    assert len(receiver.unique()) == 400
    async with services.db.read() as conn:
        pending = await repo.list_for_account(conn, sick.id, DeliveryState.PENDING, 1000)
    tried = sum(r.attempts for r in pending)
    # The breaker opened after 5 failures in a row; the rest waited untried (plus those already
    # under way when it opened, at most the per-handler cap).
    assert 5 <= tried <= 5 + services.settings.callbacks.per_url_concurrency


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://192.168.1.1/",
        "http://localhost/hook",
    ],
)
async def test_private_handler_urls_are_refused_by_default(services: Services, url: str) -> None:
    strict = dataclasses.replace(services.settings.callbacks, allow_private_networks=False)
    service = type(services.callbacks)(services.db, services.writer, services.clock, strict)
    with pytest.raises(CallbackError, match="private"):
        await service.check_url(url)
    await services.callbacks.check_url(url)  # allowed when the admin allows it


@pytest.mark.parametrize("url", ["ftp://example.com/", "javascript:alert(1)", "http:///x"])
async def test_only_http_urls(services: Services, url: str) -> None:
    with pytest.raises(CallbackError):
        await services.callbacks.check_url(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_private_address_refused_at_connect_time(
    services: Services, clock: ManualClock, receiver: CallbackReceiver, host: str
) -> None:
    """The check runs at every connect, so a name that resolves to a private address later (DNS
    rebinding) is refused too, and a URL stored before the rule cannot get through."""
    account = await account_with_handler(services, "shop", f"http://{host}:{receiver.port}/hook")
    await send_and_dispatch(services, clock, account, phones(1))
    strict = CallbacksSettings(allow_private_networks=False)
    async with callback_sender(services, clock, strict) as sender:
        await sender.run_until_idle()
    assert receiver.received == []
    failed = await services.callbacks.deliveries("shop", DeliveryState.FAILED)
    assert len(failed) == 2  # each given up at its first try: retrying cannot help
    assert failed[0].last_error is not None and "refused" in failed[0].last_error
