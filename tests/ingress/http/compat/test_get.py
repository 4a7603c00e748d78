"""get.php: history, received messages, statistics, prices (http-api.md §10, codes.md §1.2)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.messages import NewMessage
from tests.support.clock import ManualClock

PASSWORD = "password-1"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
FMTS = ("0", "1", "2", "3")
START = 1_764_000_000  # ManualClock's start: 24.11.2025 19:00:00 Moscow
SENT_TS, CHANGED_TS = START - 3600, START - 60
SENT, CHANGED = "24.11.2025 18:00:00", "24.11.2025 18:59:00"
MTS, MEGAFON = "79161234567", "79261234567"
DAY = 86400

SMS = NewMessage(
    account_id=0,
    client_id="7",
    phone=MTS,
    msg_type=MessageType.SMS,
    sender="Shop",
    text="Hello, world",
    comment="order 5",
    status=1,
    err=0,
    parts=1,
    cost=Decimal("3.3"),
    encoding=0,
    country="RU",
    operator="MTS",
    operator_orig="MTS",
    region="Moscow",
    mccmnc="25001",
    test=False,
    options=None,
    created_at=SENT_TS,
    updated_at=CHANGED_TS,
    due_at=SENT_TS,
    valid_until=SENT_TS + DAY,
)


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    return await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))


async def add(services: Services, account: AccountRecord, *rows: NewMessage) -> list[int]:
    async def op(conn: AsyncConnection) -> list[int]:
        return await message_repo.insert_many(
            conn, [replace(row, account_id=account.id) for row in rows]
        )

    return await services.writer.submit(op)


async def call(client: httpx.AsyncClient, **params: str) -> str:
    query = {"login": "alice", "psw": PASSWORD, **params}
    response = await client.get("/sys/get.php", params=query)
    assert response.status_code == 200
    assert response.content
    return response.text


async def ok(client: httpx.AsyncClient, **params: str) -> Any:
    body = json.loads(await call(client, fmt="3", **params))
    assert not (isinstance(body, dict) and "error_code" in body), body
    return body


async def error(client: httpx.AsyncClient, **params: str) -> int:
    body = json.loads(await call(client, fmt="3", **params))
    assert isinstance(body, dict) and "error_code" in body, body
    return int(body["error_code"])


# --- get_messages --------------------------------------------------------------------------------

MESSAGE: list[tuple[str, Any]] = [
    ("status", 1),
    ("last_date", CHANGED),
    ("last_timestamp", CHANGED_TS),
    ("err", 0),
    ("send_date", SENT),
    ("send_timestamp", SENT_TS),
    ("int_id", 1),
    ("id", 7),
    ("phone", MTS),
    ("cost", "3.30"),
    ("sms_cnt", 1),
    ("type", 0),
    ("sender_id", "Shop"),
    ("mccmnc", "25001"),
    ("country", "RU"),
    ("operator", "MTS"),
    ("region", "Moscow"),
    ("status_name", "Доставлено"),
    ("comment", "order 5"),
    ("message", "Hello, world"),
]
MESSAGE_TEXT = {
    "0": ", ".join(f"{k} = {v}" for k, v in MESSAGE),
    "1": ",".join(str(v) for _, v in MESSAGE),
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_get_messages_layouts(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    await add(services, alice, SMS)
    body = await call(client, get_messages="1", start="24.11.2025", fmt=fmt)
    if fmt == "3":
        assert [list(r.items()) for r in json.loads(body)] == [MESSAGE]
    elif fmt == "2":
        item = "".join(f"<{k}>{v}</{k}>" for k, v in MESSAGE)
        assert body == f"{XML}<list><item>{item}</item></list>"
    else:
        assert body == MESSAGE_TEXT[fmt]


async def test_get_messages_filters_and_pages(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    rows = [
        SMS,  # 1
        replace(SMS, client_id="x-8", phone=MEGAFON),  # 2: a string id
        replace(SMS, phone="a@b.ru", msg_type=MessageType.MAIL),  # 3
        replace(SMS, msg_type=MessageType.HLR),  # 4
        replace(SMS, created_at=SENT_TS - 40 * DAY),  # 5: sent in October
        replace(SMS, client_id="9"),  # 6: deleted below
    ]
    await add(services, alice, *rows)

    async def delete(conn: AsyncConnection) -> None:
        await message_repo.mark_deleted(conn, 6, START)

    await services.writer.submit(delete)

    async def ids(**params: str) -> list[int]:
        found = await ok(client, get_messages="1", **{"start": "24.11.2025", **params})
        return [record["int_id"] for record in found]

    assert await ids() == [4, 2, 1]  # newest first; no e-mail, nothing deleted or older
    assert [r["id"] for r in await ok(client, get_messages="1", start="24.11.2025")] == [
        7,
        "x-8",
        7,
    ]
    assert await ids(start="01.10.2025") == [5, 4, 2, 1]
    assert await ids(start="01.10.2025", end="31.10.2025") == [5]
    assert await ids(start="24.11.2025 18:01") == []
    assert await ids(phone="+7 926 123-45-67") == [2]
    assert await ids(phone=f"8 916 123 45 67,{MEGAFON}") == [4, 2, 1]
    assert await ids(format="8") == [3]
    assert await ids(format="8", email="A@B.ru") == [3]
    assert await ids(format="3") == [4]
    assert await ids(format="1") == []
    assert await ids(cnt="2") == [4, 2]
    assert await ids(cnt="2", prev_id="2") == [1]
    assert await ids(prev_id="1") == []


MESSAGES_ERRORS = [
    ({"get_messages": "1"}, 1),  # start is required
    ({"get_messages": "1", "start": "2025-11-24"}, 5),
    ({"get_messages": "1", "start": "31.02.2025"}, 5),
    ({"get_messages": "1", "start": "01.01.2025", "end": "32.01.2025"}, 5),
    ({"get_messages": "1", "start": "01.01.2025", "end": "01.07.2025"}, 1),  # > 6 months
    ({"get_messages": "1", "start": "01.10.2025", "end": "01.09.2025"}, 1),
    ({"get_messages": "1", "start": "01.01.2025"}, 1),  # until now: more than 6 months
    ({"get_messages": "1", "start": "24.11.2025", "cnt": "1001"}, 1),
    ({"get_messages": "1", "start": "24.11.2025", "cnt": "0"}, 1),
    ({"get_messages": "1", "start": "24.11.2025", "format": "13"}, 1),
    ({"get_messages": "1", "start": "24.11.2025", "prev_id": "0"}, 1),
    ({"get_answers": "1", "hour": "0"}, 1),
    ({"get_answers": "1", "hour": "169"}, 1),
    ({"get_answers": "1", "cnt": "10001"}, 1),
    ({"get_answers": "1", "after_id": "x"}, 1),
    ({"get_stat": "1", "start": "1.1.25"}, 5),
    ({"get_stat": "1", "end": "01.13.2025"}, 5),
    ({"get_operators": "1"}, 1),  # not a get.php command
    ({"get_messages": "1", "get_stat": "1", "start": "24.11.2025"}, 1),
    ({}, 1),
]


@pytest.mark.parametrize(("params", "code"), MESSAGES_ERRORS)
async def test_errors(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str], code: int
) -> None:
    assert await error(client, **params) == code


async def test_a_period_of_exactly_six_months_is_allowed(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert await ok(client, get_messages="1", start="31.05.2025", end="30.11.2025") == []
    assert await error(client, get_messages="1", start="31.05.2025", end="01.12.2025") == 1


ERROR_5 = {
    "0": "ERROR = 5 (invalid date format)",
    "1": "0,-5",
    "2": f"{XML}<result><error>invalid date format</error><error_code>5</error_code></result>",
    "3": '{"error": "invalid date format", "error_code": 5}',
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_5_layouts(client: httpx.AsyncClient, alice: AccountRecord, fmt: str) -> None:
    assert await call(client, get_messages="1", start="x", fmt=fmt) == ERROR_5[fmt]


# --- get_answers ---------------------------------------------------------------------------------

ANSWER: list[tuple[str, Any]] = [
    ("id", 1),
    ("received", "24.11.2025 18:30:00"),
    ("sent", SENT),
    ("phone", MTS),
    ("to_phone", "79990000001"),
    ("message", "Yes, please"),
]


@pytest.mark.parametrize("fmt", FMTS)
async def test_get_answers_layouts(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    [message_id] = await add(services, alice, SMS)
    await services.incoming.record(
        alice.id, MTS, "79990000001", "Yes, please", message_id=message_id, received_at=START - 1800
    )
    body = await call(client, get_answers="1", fmt=fmt)
    if fmt == "3":
        assert [list(r.items()) for r in json.loads(body)] == [ANSWER]
    elif fmt == "2":
        item = "".join(f"<{k}>{v}</{k}>" for k, v in ANSWER)
        assert body == f"{XML}<list><item>{item}</item></list>"
    elif fmt == "1":
        assert body == ",".join(str(v) for _, v in ANSWER)
    else:
        assert body == ", ".join(f"{k} = {v}" for k, v in ANSWER)


async def test_get_answers_filters(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    record = services.incoming.record
    await record(alice.id, MTS, "79990000001", "old", received_at=START - 30 * 3600)  # 1
    await record(alice.id, MTS, "79990000001", "recent", received_at=START - 3600)  # 2
    await record(alice.id, MEGAFON, "79990000002", "other line")  # 3: now, not a reply
    await record(alice.id, MTS, "79990000001", "gone", message_id=999_999)  # 4: unknown message

    async def ids(**params: str) -> list[int]:
        return [a["id"] for a in await ok(client, get_answers="1", **params)]

    assert await ids() == [2, 3, 4]  # the last 24 hours
    assert await ids(hour="48") == [1, 2, 3, 4]
    assert await ids(hour="1") == [2, 3, 4]
    assert await ids(after_id="1") == [2, 3, 4]  # no hour: no time limit
    assert await ids(after_id="0", cnt="2") == [1, 2]
    assert await ids(after_id="2", hour="1") == [3, 4]
    assert await ids(to_phone="+79990000002") == [3]
    assert (await ok(client, get_answers="1", after_id="3"))[0]["sent"] == ""
    await clock.advance(25 * 3600)
    assert await ids() == []


# --- get_stat ------------------------------------------------------------------------------------

STAT = {
    "0": "login = alice, cnt = 5, credit = 9.90, debit = 0.00, currency = RUR",
    "1": "alice,5,9.90,0.00,RUR",
    "2": f"{XML}<list><item><login>alice</login><cnt>5</cnt><credit>9.90</credit>"
    "<debit>0.00</debit><currency>RUR</currency></item></list>",
    "3": '[{"login": "alice", "cnt": 5, "credit": "9.90", "debit": "0.00", "currency": "RUR"}]',
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_get_stat(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    await add(
        services,
        alice,
        SMS,
        replace(SMS, parts=3, cost=Decimal("3.3")),
        replace(SMS, parts=1, cost=Decimal("3.3"), status=1),
        replace(SMS, status=-2),  # stopped before dispatch and refunded
        replace(SMS, status=22, cost=Decimal(0)),  # rejected at acceptance
        replace(SMS, created_at=SENT_TS - 40 * DAY, cost=Decimal("100")),  # in October
    )
    assert await call(client, get_stat="1", start="01.11.2025", fmt=fmt) == STAT[fmt]
    [all_time] = await ok(client, get_stat="1", mycur="1", balance2="1")
    assert (all_time["cnt"], all_time["credit"]) == (6, "109.90")
    [october] = await ok(client, get_stat="1", start="01.10.2025", end="31.10.2025")
    assert (october["cnt"], october["credit"]) == (1, "100.00")


# --- get_price -----------------------------------------------------------------------------------

PRICES = [
    ["*", "*", "2.50", "2.50", "2.50", "0.50", "2.50", "2.50", "2.50", "0.10", "2.50"],
    ["RU", "*", "3.00", "3.00", "2.50", "0.50", "2.50", "2.50", "2.50", "0.10", "2.50"],
    ["RU", "МТС", "3.50", "3.50", "3.50", "3.50", "3.50", "3.50", "3.50", "3.50", "3.50"],
]
PRICE_FIELDS = ["zone", "name", "api", "mass", "mms", "hlr", "call", "viber", "tg", "mail", "ping"]


@pytest.fixture
async def tariffs(services: Services) -> None:
    for rule in (
        TariffRule(price=Decimal("2.50")),
        TariffRule(price=Decimal("0.50"), msg_type=MessageType.HLR),
        TariffRule(price=Decimal("0.10"), msg_type=MessageType.MAIL),
        TariffRule(price=Decimal("3.00"), country="RU", msg_type=MessageType.SMS),
        TariffRule(price=Decimal("3.50"), country="RU", operator="МТС"),
        TariffRule(price=Decimal("9.00"), country="KZ", plan=2),  # another plan: not shown
    ):
        await services.tariffs.set(rule)


@pytest.mark.parametrize("fmt", FMTS)
async def test_get_price_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, tariffs: None, fmt: str
) -> None:
    body = await call(client, get_price="1", fmt=fmt)
    if fmt == "3":
        assert json.loads(body) == [dict(zip(PRICE_FIELDS, row, strict=True)) for row in PRICES]
    elif fmt == "2":
        items = "".join(
            "<item>"
            + "".join(f"<{k}>{v}</{k}>" for k, v in zip(PRICE_FIELDS, row, strict=True))
            + "</item>"
            for row in PRICES
        )
        assert body == f"{XML}<list>{items}</list>"
    elif fmt == "1":
        assert body == "\n".join(",".join(row) for row in PRICES)
    else:
        assert body.splitlines()[1] == ", ".join(
            f"{k} = {v}" for k, v in zip(PRICE_FIELDS, PRICES[1], strict=True)
        )


async def test_unpriced_types_are_empty(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("1"), msg_type=MessageType.SMS))
    [row] = await ok(client, get_price="1")
    assert (row["api"], row["hlr"]) == ("1.00", "")


async def test_fourth_identical_price_request_is_error_9(
    client: httpx.AsyncClient, alice: AccountRecord, tariffs: None, clock: ManualClock
) -> None:
    for _ in range(3):
        await ok(client, get_price="1")
    assert await error(client, get_price="1") == 9
    assert await error(client, get_price="1", charset="utf-8") == 9  # charset is ignored
    await clock.advance(61)
    assert await ok(client, get_price="1")


async def test_history_has_no_request_limit(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    for _ in range(5):
        await ok(client, get_messages="1", start="24.11.2025")
        await ok(client, get_answers="1")
        await ok(client, get_stat="1")
