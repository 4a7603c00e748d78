"""The callback sender against a real handler on 127.0.0.1: every status change once, in order,
signed, in each body format and charset (http-api.md §14)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from smsgate.config import Settings
from smsgate.domain.callbacks import DeliveryState
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.repos import callbacks as repo
from tests.conftest import make_settings
from tests.dispatch.callback_support import (
    PASSWORD,
    SECRET,
    account_with_handler,
    callback_sender,
    expected_changes,
    expected_signature,
    phones,
    send_and_dispatch,
)
from tests.peers.callback_receiver import CallbackReceiver, Received
from tests.support.clock import ManualClock

SIGNATURES = ("md5", "sha1", "crc32")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, SMSGATE_CALLBACKS_ALLOW_PRIVATE_NETWORKS="1")


@pytest.fixture
async def receiver(clock: ManualClock) -> AsyncIterator[CallbackReceiver]:
    handler = CallbackReceiver(clock)
    await handler.start()
    yield handler
    await handler.stop()


def request_bodies(unique: dict[str, Received]) -> bytes:
    return b"".join(r.body for r in unique.values())


def check_signatures(fields: list[tuple[str, str]], charset: str) -> list[tuple[str, str]]:
    """The fields without their signatures, after checking each signature that is present."""
    plain = [(k, v) for k, v in fields if k not in SIGNATURES]
    for name, value in fields:
        if name in SIGNATURES:
            assert value == expected_signature(name, plain, charset), (name, fields)
    return plain


async def test_every_status_change_of_1000_messages_arrives_once_signed(
    services: Services, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    account = await account_with_handler(
        services, "shop", receiver.url("fmt=3&charset=utf-8&md5=1&sha1=1&crc32=1")
    )
    numbers = phones(1000)
    await send_and_dispatch(services, clock, account, numbers)
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()

    unique = receiver.unique()
    got = []
    for request in sorted(unique.values(), key=lambda r: int(r.delivery_id)):
        assert request.headers["user-agent"] == "smsgate/test"
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        fields = check_signatures(request.fields, "utf-8")
        assert [k for k, _ in fields] == [
            "id", "phone", "status", "time", "ts", "err", "cnt", "cost", "type", "sender",
            "mccmnc", "comment",
        ]  # fmt: skip
        assert [k for k, _ in request.fields][-3:] == list(SIGNATURES)
        values = dict(fields)
        got.append((values["phone"], values["status"]))
    expected = await expected_changes(services, account.id)
    assert len(expected) == 2000
    assert Counter(got) == Counter(expected)  # each change exactly once
    for phone in numbers[:50]:  # transferred before delivered, per message
        assert [s for p, s in got if p == phone] == ["0", "1"]
    async with services.db.read() as conn:
        assert await repo.count_by_state(conn) == {DeliveryState.DELIVERED: 2000}


@pytest.mark.parametrize("fmt", ["", "2", "3"])
@pytest.mark.parametrize("charset", ["utf-8", "windows-1251"])
async def test_body_formats_and_charsets(
    services: Services,
    clock: ManualClock,
    receiver: CallbackReceiver,
    fmt: str,
    charset: str,
) -> None:
    query = f"charset={charset}&md5=&sha1=&crc32=" + (f"&fmt={fmt}" if fmt else "")
    account = await account_with_handler(services, "shop", receiver.url(query))
    await send_and_dispatch(services, clock, account, phones(3))
    text = "Привет & <добро> \"пожаловать\" 'ёж' 😀"
    await services.callbacks.incoming(account, 77, "79031234567", text, "79990001122", clock.now())
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()

    unique = receiver.unique()
    assert len(unique) == 7
    media = {"": "application/x-www-form-urlencoded", "2": "text/xml", "3": "application/json"}
    incoming = None
    for request in unique.values():
        assert request.headers["content-type"] == f"{media[fmt]}; charset={charset}"
        fields = check_signatures(request.fields, charset)
        if fields[0] == ("id", "77"):
            incoming = fields
    assert incoming is not None
    assert [k for k, _ in incoming] == ["id", "phone", "mes", "to", "sent", "time"]
    mes = dict(incoming)["mes"]
    if charset == "utf-8" or fmt == "2":  # XML says what windows-1251 cannot as &#128512;
        assert mes == text
        assert fmt != "2" or charset == "utf-8" or b"&#128512;" in request_bodies(unique)
    else:
        assert mes == text.replace("😀", "?")


async def test_sub_client_and_account_without_handler(
    services: Services, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    quiet = await account_with_handler(services, "quiet", "")
    loud = await account_with_handler(services, "loud", receiver.url("fmt=3"))
    await send_and_dispatch(services, clock, quiet, phones(5))
    await send_and_dispatch(services, clock, loud, phones(5, start=100))
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()
    phones_called = {dict(r.fields)["phone"] for r in receiver.unique().values()}
    assert phones_called == set(phones(5, start=100))  # nothing of the other tenant


async def test_rejected_at_acceptance_and_stopped_get_a_callback(
    services: Services,
    clock: ManualClock,
    receiver: CallbackReceiver,
    client: httpx.AsyncClient,
) -> None:
    await account_with_handler(services, "shop", receiver.url("fmt=3"))
    params = {"login": "shop", "psw": PASSWORD, "fmt": "3", "id": "5"}
    numbers = "79161234567,7916123"  # the second is too short: rejected at acceptance (22)
    later = "+600"  # minutes: still waiting when it is deleted
    answer = await client.post(
        "/sys/send.php", data={**params, "phones": numbers, "mes": "x", "time": later}
    )
    assert "error" not in answer.json(), answer.text
    deleted = await client.post(
        "/sys/status.php", data={**params, "phone": "79161234567", "del": "1"}
    )
    assert "error" not in deleted.json(), deleted.text
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()
    changes = sorted((dict(r.fields)["phone"], dict(r.fields)["status"]) for r in receiver.received)
    assert changes == [("7916123", "22"), ("79161234567", "-2")]


async def test_secret_and_url_are_read_at_send_time(
    services: Services, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    """A rotated secret signs the callbacks still waiting."""
    account = await account_with_handler(services, "shop", receiver.url("md5=1"))
    await send_and_dispatch(services, clock, account, phones(1))
    await services.accounts.change("shop", AccountChanges(callback_secret="rotated"))
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()
    for request in receiver.received:
        plain = [(k, v) for k, v in request.fields if k != "md5"]
        data = (":".join(v for _, v in plain) + ":rotated").encode("windows-1251")
        assert dict(request.fields)["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert SECRET != "rotated"
