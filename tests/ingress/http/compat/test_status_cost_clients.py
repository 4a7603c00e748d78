"""status.php and the price-only send.php (``cost=1``) as real SMSC clients call them, and their replies
read the way those clients read them (http-api.md §2.7, §3, §1.5).

The PHP, Python, C# and Java libraries (``OfficialLibrary`` in test_send_clients.py) build
``login=…&psw=…&fmt=1&charset=utf-8`` followed by ``phone=…&id=…&all=N`` (``get_status``) or
``cost=1&phones=…&mes=…&translit=0&id=0`` (``get_sms_cost``), each with its own URL quoting, and split
the reply on ``,``. ``get_status`` re-joins every field from index 8 (``all=1``) or 11 (``all=2``) as
the message text unless field 14 / 17 is ``HLR``; ``get_sms_cost`` reads ``cost,cnt`` and takes a
positive ``cnt`` for success, ``0,-N`` for error N. The Node library posts multipart form data with
``fmt=3`` and reads JSON. Every value is checked against what was sent and what the store holds.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.app import Gateway
from smsgate.config import Settings
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos import dispatch as dispatch_repo
from smsgate.store.repos.accounts import AccountRecord
from tests.conftest import make_settings
from tests.ingress.http.compat.test_send_clients import (
    BEELINE,
    INVALID,
    LIBRARIES,
    MEGAFON,
    MTS,
    PASSWORD,
    OfficialLibrary,
    multipart,
    stored,
)
from tests.support.clock import ManualClock

PRICE = Decimal("2.50")
BALANCE = Decimal("100")
# Commas inside the text and the comment: what the libraries' re-joining rule is for. 87 UCS-2
# characters: two parts.
TEXT = "Заказ 1,2,3 готов, ждём вас; " * 3
COMMENT = "склад 2, полка 7"
MESSAGE = f"{TEXT}\n~~~\n{COMMENT}"
TEXT_PARTS = 2
LONG = "Ж" * 100  # UCS-2, 100 characters: two parts of 67
LONG_PARTS = 2
WAITING, DELIVERED = "Ожидает отправки", "Доставлено"  # codes.md §2
PHONE_AS_TYPED = "+7 916 123-45-67"  # MTS as a user types it: "+" and spaces get quoted
LEVELS = [0, 1, 2]


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    return await _alice(services)


async def _alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=BALANCE)
    await services.tariffs.set(TariffRule(price=PRICE))
    await services.senders.add(account, "Shop", approve=True)
    return account


# --- the official libraries' requests and parsing ------------------------------------------------


def _credentials(library: OfficialLibrary, password: str) -> str:
    return f"login=alice&psw={library.quote(password)}&fmt=1&charset=utf-8"


async def _call(client: httpx.AsyncClient, command: str, arguments: str) -> list[str]:
    response = await client.get(f"/sys/{command}.php?{arguments}", headers={"host": "smsc.ru"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content, "an empty body makes the library retry on another host"
    return response.text.split(",")


async def get_sms_cost(
    client: httpx.AsyncClient,
    library: OfficialLibrary,
    phones: str,
    message: str,
    *,
    sender: str | None = None,
    password: str = PASSWORD,
) -> list[str]:
    """``get_sms_cost()``: the send.php arguments of ``send_sms()`` with ``cost=1``."""
    arguments = library.arguments(phones, message, sender, "").removeprefix("cost=3&")
    return await _call(client, "send", f"{_credentials(library, password)}&cost=1&{arguments}")


def cost_succeeded(reply: Sequence[str]) -> bool:
    """``(cost, cnt)`` or ``(0, -error)``: the libraries' test is a positive ``cnt``."""
    return int(reply[1]) > 0


async def get_status(
    client: httpx.AsyncClient,
    library: OfficialLibrary,
    message_id: str,
    phone: str,
    level: int,
    *,
    password: str = PASSWORD,
) -> list[str]:
    """``get_status()``: the fields as the library returns them, text re-joined (http-api.md §3)."""
    q = library.quote
    arguments = f"phone={q(phone)}&id={q(message_id)}&all={level}"
    return rejoined(
        await _call(client, "status", f"{_credentials(library, password)}&{arguments}"), level
    )


def rejoined(fields: list[str], level: int) -> list[str]:
    """With ``all`` 1/2, more than 9 fields and no ``HLR`` at index 14 / 17, everything from index 8
    / 11 is one field (PHP ``explode(",", implode(",", $m), 9 or 12)``, the others alike)."""
    hlr_at = 14 if level == 1 else 17
    if level and len(fields) > 9 and (len(fields) <= hlr_at or fields[hlr_at] != "HLR"):
        return ",".join(fields).split(",", 8 if level == 1 else 11)
    return fields


def status_succeeded(reply: Sequence[str]) -> bool:
    """``(status, time, err, …)`` or ``(0, -error)``: an error has a negative second field."""
    return reply[1] != "" and int(reply[1]) >= 0


def expected_status(row: RowMapping, level: int, status_name: str) -> list[str]:
    """What ``get_status()`` returns for the stored ``row`` at ``level`` (http-api.md §3 fmt 1)."""
    head = [str(row["status"]), str(math.floor(row["updated_at"])), str(row["err"])]
    if level == 0:
        return head
    sent = [str(math.floor(row["created_at"])), row["phone"], f"{row['cost']:.2f}"]
    where = [row["country"], row["operator"], row["region"]] if level == 2 else []
    text = f"{row['text']},{row['comment']},{row['msg_type']}"
    return [*head, *sent, *where, row["sender"], status_name, text]


async def deliver(services: Services, clock: ManualClock, row: RowMapping) -> None:
    """A delivery receipt, stored the way the dispatcher stores one: status 1, err 0."""
    await clock.advance(120)
    change = dispatch_repo.StatusChange(row["id"], row["account_id"], 1, 0)

    async def op(conn: AsyncConnection) -> None:
        await dispatch_repo.record_final(conn, [change], clock.now())

    await services.writer.submit(op)


async def balance(client: httpx.AsyncClient) -> Decimal:
    response = await client.get(
        "/sys/balance.php", params={"login": "alice", "psw": PASSWORD, "fmt": "3"}
    )
    return Decimal(response.json()["balance"])


# --- get_status ------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_status(
    services: Services,
    client: httpx.AsyncClient,
    clock: ManualClock,
    alice: AccountRecord,
    library: OfficialLibrary,
    level: int,
) -> None:
    sent, _ = await library.send_sms(client, f"{PHONE_AS_TYPED},{MEGAFON}", MESSAGE, sender="Shop")
    cost = PRICE * TEXT_PARTS
    assert sent == ["1", str(2 * TEXT_PARTS), f"{2 * cost:.2f}", f"{BALANCE - 2 * cost:.2f}"]
    row = (await stored(services))[0]
    assert (row["phone"], row["text"], row["comment"], row["parts"]) == (
        MTS,
        TEXT,
        COMMENT,
        TEXT_PARTS,
    )
    assert (row["status"], row["cost"]) == (-1, cost)

    reply = await get_status(client, library, sent[0], PHONE_AS_TYPED, level)
    assert status_succeeded(reply)
    assert reply == expected_status(row, level, WAITING)
    if level:
        assert reply[5] == f"{PRICE * TEXT_PARTS:.2f}"  # the debit: price × parts
        assert reply[-1] == f"{TEXT},{COMMENT},0"  # what the caller gets as "the text"

    await deliver(services, clock, row)
    row = (await stored(services))[0]
    reply = await get_status(client, library, sent[0], PHONE_AS_TYPED, level)
    assert reply[:3] == ["1", str(math.floor(clock.now())), "0"]
    assert reply == expected_status(row, level, DELIVERED)
    # The other recipient of the request is still waiting.
    other = await get_status(client, library, sent[0], MEGAFON, level)
    assert other[0] == "-1"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_status_errors(
    client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary, level: int
) -> None:
    reply = await get_status(client, library, "1", MTS, level, password="wrong password")
    assert not status_succeeded(reply)
    assert reply == ["0", "-2"]
    reply = await get_status(client, library, "", MTS, level)
    assert reply == ["0", "-1"]
    # A message that does not exist is a record, not an error: status -3.
    reply = await get_status(client, library, "77", PHONE_AS_TYPED, level)
    assert status_succeeded(reply)
    assert reply[:3] == ["-3", "0", "0"]
    assert len(reply) == (3, 9, 12)[level]
    if level:
        assert reply[3:6] == ["0", MTS, "0.00"]
        assert reply[-2:] == ["Сообщение не найдено", ",,0"]


# --- get_sms_cost --------------------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_cost(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary
) -> None:
    phones = f"{PHONE_AS_TYPED};{MEGAFON},{INVALID}"
    reply = await get_sms_cost(client, library, phones, LONG, sender="Shop")
    assert cost_succeeded(reply)
    assert reply == [f"{2 * LONG_PARTS * PRICE:.2f}", str(2 * LONG_PARTS)]
    # Nothing stored, nothing charged, no id taken.
    assert await stored(services) == []
    assert await balance(client) == BALANCE

    # The same request sent: the price was the debit, and cnt the parts stored.
    sent, _ = await library.send_sms(client, phones, LONG, sender="Shop")
    assert sent[:3] == ["1", reply[1], reply[0]]
    rows = await stored(services)
    accepted = [r for r in rows if r["status"] == -1]
    assert [r["phone"] for r in accepted] == [MTS, MEGAFON]
    assert [(r["parts"], r["cost"]) for r in accepted] == [(LONG_PARTS, LONG_PARTS * PRICE)] * 2
    assert sum(r["parts"] for r in accepted) == int(reply[1])
    assert sum(r["cost"] for r in rows) == Decimal(reply[0])
    assert [(r["phone"], r["cost"]) for r in rows if r["status"] != -1] == [(INVALID, 0)]
    assert await balance(client) == BALANCE - Decimal(reply[0])


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_cost_counts_parts(
    client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary
) -> None:
    """``cnt`` is the parts of the text (http-api.md §2.3), the cost the price of each."""
    for message, parts in [("Hello, world", 1), ("x" * 161, 2), ("{" * 81, 2), (LONG * 10, 15)]:
        reply = await get_sms_cost(client, library, BEELINE, message)
        assert reply == [f"{parts * PRICE:.2f}", str(parts)], message


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_cost_errors(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, library: OfficialLibrary
) -> None:
    """Errors of ``cost=1`` never carry an id: ``0,-N`` (http-api.md §2.5)."""
    cases = [
        ({"password": "wrong password"}, MTS, LONG, "2"),
        ({}, INVALID, LONG, "7"),
        ({"sender": "Unknown"}, MTS, LONG, "6"),
        ({}, MTS, "x" * 1001, "1"),
    ]
    for options, phones, message, code in cases:
        reply = await get_sms_cost(client, library, phones, message, **options)
        assert not cost_succeeded(reply)
        assert reply == ["0", f"-{code}"]
    assert await stored(services) == []
    assert await balance(client) == BALANCE


# --- Node library: multipart, fmt=3, JSON --------------------------------------------------------

BOUNDARY = "--------------------------723690991551375881941828"


async def node_call(
    client: httpx.AsyncClient, command: str, *, password: str = PASSWORD, **data: str
) -> object:
    """``send_data()``: the caller's fields plus fmt, charset and credentials, as multipart."""
    fields = {**data, "fmt": "3", "charset": "utf-8", "login": "alice", "psw": password}
    response = await client.post(
        f"/sys/{command}.php",
        content=multipart(fields, BOUNDARY),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def node_status(row: RowMapping, level: int, status_name: str) -> dict[str, object]:
    """The JSON object for ``row`` at ``level`` (http-api.md §3 fields per level)."""
    expected: dict[str, object] = {
        "status": row["status"],
        "last_timestamp": math.floor(row["updated_at"]),
        "flag": 0,
        "err": row["err"],
    }
    if level:
        expected |= {
            "send_timestamp": math.floor(row["created_at"]),
            "phone": row["phone"],
            "cost": f"{row['cost']:.2f}",
            "sender_id": row["sender"],
            "status_name": status_name,
            "message": row["text"],
            "comment": row["comment"],
            "type": row["msg_type"],
            "sms_cnt": row["parts"],
        }
    if level == 2:
        expected |= {name: row[name] for name in ("country", "operator", "operator_orig", "region")}
        expected["mccmnc"] = row["mccmnc"]
    return expected


@pytest.mark.parametrize("level", LEVELS)
async def test_node_library_status(
    services: Services,
    client: httpx.AsyncClient,
    clock: ManualClock,
    alice: AccountRecord,
    level: int,
) -> None:
    sent = await node_call(client, "send", phones=f"{MTS},{BEELINE}", mes=MESSAGE, sender="Shop")
    assert sent == {"id": 1, "cnt": 2 * TEXT_PARTS}
    row = (await stored(services))[0]
    names = ["status", "last_date", "last_timestamp", "flag", "err"]
    names += [] if level == 0 else ["send_date", "send_timestamp", "phone", "cost", "sender_id"]
    names += [] if level == 0 else ["status_name", "message", "comment", "type", "sms_cnt"]
    names += [] if level < 2 else ["country", "operator", "operator_orig", "region", "mccmnc"]

    for status_name in (WAITING, DELIVERED):
        reply = await node_call(client, "status", phone=PHONE_AS_TYPED, id="1", all=str(level))
        assert isinstance(reply, dict)
        assert "error" not in reply
        assert list(reply) == names
        assert {k: v for k, v in reply.items() if not k.endswith("_date")} == node_status(
            row, level, status_name
        )
        if level:
            assert (reply["cost"], reply["sms_cnt"]) == (f"{PRICE * TEXT_PARTS:.2f}", TEXT_PARTS)
        if status_name == WAITING:
            await deliver(services, clock, row)
            row = (await stored(services))[0]
    assert row["status"] == 1


async def test_node_library_status_errors(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    reply = await node_call(client, "status", phone=MTS, id="5", all="1", password="wrong password")
    assert reply == {"error": "authorise error", "error_code": 2}
    reply = await node_call(client, "status", phone=MTS, id="5", all="3")
    assert reply == {"error": "parameters error", "error_code": 1}
    reply = await node_call(client, "status", phone=MTS, id="5", all="1")
    assert isinstance(reply, dict)
    assert (reply["status"], reply["phone"], reply["cost"], reply["sms_cnt"]) == (
        -3,
        MTS,
        "0.00",
        0,
    )


async def test_node_library_cost(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    phones = f"{MTS},{BEELINE},{INVALID}"
    reply = await node_call(client, "send", phones=phones, mes=LONG, cost="1")
    assert reply == {"cost": f"{2 * LONG_PARTS * PRICE:.2f}", "cnt": 2 * LONG_PARTS}
    assert await stored(services) == []
    assert await balance(client) == BALANCE
    sent = await node_call(client, "send", phones=phones, mes=LONG, cost="2")
    assert sent == {"id": 1, "cnt": 2 * LONG_PARTS, "cost": f"{2 * LONG_PARTS * PRICE:.2f}"}
    accepted = [r for r in await stored(services) if r["status"] == -1]
    assert [(r["parts"], r["cost"]) for r in accepted] == [(LONG_PARTS, LONG_PARTS * PRICE)] * 2


async def test_node_library_cost_errors(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    reply = await node_call(client, "send", phones=INVALID, mes=LONG, cost="1")
    assert reply == {"error": "invalid phone number", "error_code": 7}  # no id with cost=1
    reply = await node_call(
        client, "send", phones=MTS, mes=LONG, cost="1", password="wrong password"
    )
    assert reply == {"error": "authorise error", "error_code": 2}
    assert await stored(services) == []


# --- over a real socket --------------------------------------------------------------------------


@pytest.fixture
async def gateway(settings: Settings, clock: ManualClock) -> AsyncIterator[Gateway]:
    """The whole gateway with its HTTP listener on a port the kernel chose. Its dispatcher waits
    on the manual clock, which these tests never advance: messages stay in status -1."""
    settings = make_settings(settings.database.url, Path(settings.data_dir), SMSGATE_HTTP_PORT="0")
    async with Gateway(settings, clock, only=frozenset({"http"})) as running:
        yield running


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.name)
async def test_official_library_over_a_real_socket(
    gateway: Gateway, library: OfficialLibrary
) -> None:
    services = gateway.services
    assert isinstance(services, Services)
    await _alice(services)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.ports['http']}") as client:
        price = await get_sms_cost(client, library, PHONE_AS_TYPED, MESSAGE, sender="Shop")
        assert price == [f"{PRICE * TEXT_PARTS:.2f}", str(TEXT_PARTS)]
        sent, method = await library.send_sms(client, PHONE_AS_TYPED, MESSAGE, sender="Shop")
        assert (method, sent[:3]) == ("GET", ["1", price[1], price[0]])
        (row,) = await stored(services)
        for level in LEVELS:
            reply = await get_status(client, library, sent[0], PHONE_AS_TYPED, level)
            assert reply == expected_status(row, level, WAITING)
