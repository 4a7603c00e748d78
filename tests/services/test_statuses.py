"""The status use case: lookup keys, most-recent-wins lookup, deletion with refund (http-api.md §3)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageType
from smsgate.services.container import Services
from smsgate.services.statuses import Deletion, StatusService, message_key
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.messages import NewMessage

MESSAGE = NewMessage(
    account_id=0,
    client_id="42",
    phone="79161234567",
    msg_type=MessageType.SMS,
    sender="Shop",
    text="Hi",
    comment=None,
    status=-1,
    err=0,
    parts=1,
    cost=Decimal("3.3"),
    encoding=0,
    country="RU",
    operator=None,
    operator_orig=None,
    region=None,
    mccmnc=None,
    test=False,
    options=None,
    created_at=1_763_990_000,
    updated_at=1_763_990_000,
    due_at=1_763_990_000,
    valid_until=1_764_076_400,
)


@pytest.mark.parametrize(
    ("client_id", "recipient", "expected_id", "candidates"),
    [
        (" 42 ", "8 (916) 123-45-67", "42", ("79161234567", "89161234567")),
        ("042", "+7 916 123 45 67", "42", ("79161234567",)),
        ("0", "79161234567", "0", ("79161234567",)),
        ("Ab-1.x", "79161234567", "Ab-1.x", ("79161234567",)),
        # Stored without "+", an international number would auto-correct to a Russian one.
        ("a", "84912345678", "a", ("74912345678", "84912345678")),
        ("a", "+84912345678", "a", ("84912345678",)),
        ("a", "0079161234567", "a", ("79161234567",)),
        (
            "a",
            " Ivan@Example.COM ",
            "a",
            ("ivan@example.com", "Ivan@example.com", "Ivan@Example.COM"),
        ),
        ("a", "@TgUser", "a", ("@tguser", "@TgUser")),
        ("a", "#100200", "a", ("#100200",)),
        ("a", "not a number", "a", ("not a number",)),
    ],
)
def test_message_key(
    client_id: str, recipient: str, expected_id: str, candidates: tuple[str, ...]
) -> None:
    key = message_key(client_id, recipient)
    assert (key.client_id, key.recipient, key.candidates) == (
        expected_id,
        candidates[0],
        candidates,
    )


@pytest.fixture
async def account(services: Services) -> AccountRecord:
    return await services.accounts.create("alice", "correct-horse-1", balance=Decimal("10"))


@pytest.fixture
def statuses(services: Services) -> StatusService:
    return StatusService(services.db, services.writer, services.clock)


async def add(services: Services, *rows: NewMessage) -> list[int]:
    async def op(conn: AsyncConnection) -> list[int]:
        return await message_repo.insert_many(conn, rows)

    return await services.writer.submit(op)


async def test_lookup_prefers_the_normalised_form_then_the_latest(
    services: Services, statuses: StatusService, account: AccountRecord
) -> None:
    row = replace(MESSAGE, account_id=account.id)
    ids = await add(
        services,
        replace(row, phone="74912345678"),
        replace(row, phone="84912345678"),
        replace(row, phone="84912345678", status=1),
    )
    keys = [
        message_key("42", "84912345678"),
        message_key("42", "+84912345678"),
        message_key("43", "84912345678"),
    ]
    found = await statuses.lookup(account.id, keys)
    assert [record.id if record else None for record in found] == [ids[0], ids[2], None]


async def test_concurrent_deletions_refund_once(
    services: Services, statuses: StatusService, account: AccountRecord
) -> None:
    (message_id,) = await add(services, replace(MESSAGE, account_id=account.id))
    key = message_key("42", "79161234567")
    results = await asyncio.gather(
        statuses.delete(account.id, key), statuses.delete(account.id, key)
    )
    assert sorted(results, key=lambda result: result is None) == [
        Deletion(message_id, Decimal("3.3")),
        None,
    ]
    assert (await services.accounts.get("alice")).balance == Decimal("13.3")
    assert await statuses.lookup(account.id, [key]) == [None]
    assert await statuses.delete(account.id, message_key("42", "79160000000")) is None
