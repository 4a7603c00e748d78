"""send.php: success layouts, ids, per-number details, text handling, scheduling and charging
(http-api.md §2, protocols.md §1). Errors and the money check are in test_send_errors.py; client
libraries and charsets in test_send_clients.py."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import RowMapping, select

from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import accounts, messages
from tests.support.clock import ManualClock

PASSWORD = "password-1"
PRICE = Decimal("2.50")
MTS, MEGAFON, BEELINE = "79161234567", "79261234567", "79031234567"
INVALID = "79001234567"  # +7 900 outside every range of the demo numbering plan: 22 / 249
FMTS = ("0", "1", "2", "3")
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
GSM7, UCS2 = 0, 1  # messages.encoding


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=PRICE))
    await services.senders.add(account, "Shop", approve=True)
    return account


async def send(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    """GET send.php as alice to one MTS number, with ``params`` added or overriding."""
    query = {"login": "alice", "psw": PASSWORD, "phones": MTS, "mes": "Hello", **params}
    response = await client.get("/sys/send.php", params=query)
    assert response.status_code == 200
    assert response.content, "official clients treat an empty body as a transport failure"
    return response


async def stored(services: Services) -> Sequence[RowMapping]:
    async with services.db.read() as conn:
        result = await conn.execute(select(messages).order_by(messages.c.id))
        return result.mappings().all()


async def balance(services: Services) -> Decimal:
    async with services.db.read() as conn:
        query = select(accounts.c.balance).where(accounts.c.login == "alice")
        return Decimal((await conn.execute(query)).scalar_one())


# --- success layouts (§2.6, §2.7) ---------------------------------------------------------------

# Two recipients, 200 Latin characters each: 2 parts each, 4 parts at 2.50.
LAYOUTS = {
    ("0", "0"): "OK - 4 SMS, ID - 1",
    ("0", "1"): "1,4",
    ("0", "2"): f"{XML}<result><cnt>4</cnt><id>1</id></result>",
    ("0", "3"): '{"id": 1, "cnt": 4}',
    ("1", "0"): "10.00 (4 SMS)",
    ("1", "1"): "10.00,4",
    ("1", "2"): f"{XML}<result><cost>10.00</cost><cnt>4</cnt></result>",
    ("1", "3"): '{"cost": "10.00", "cnt": 4}',
    ("2", "0"): "OK - 4 SMS, ID - 1, COST - 10.00",
    ("2", "1"): "1,4,10.00",
    ("2", "2"): f"{XML}<result><cnt>4</cnt><id>1</id><cost>10.00</cost></result>",
    ("2", "3"): '{"id": 1, "cnt": 4, "cost": "10.00"}',
    ("3", "0"): "OK - 4 SMS, ID - 1, COST - 10.00, BALANCE - 90.00",
    ("3", "1"): "1,4,10.00,90.00",
    ("3", "2"): f"{XML}<result><cnt>4</cnt><id>1</id><cost>10.00</cost>"
    "<balance>90.00</balance></result>",
    ("3", "3"): '{"id": 1, "cnt": 4, "cost": "10.00", "balance": "90.00"}',
}


@pytest.mark.parametrize(("cost", "fmt"), list(LAYOUTS))
async def test_success_layouts(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, cost: str, fmt: str
) -> None:
    response = await send(client, phones=f"{MTS},{MEGAFON}", mes="x" * 200, cost=cost, fmt=fmt)
    assert response.text == LAYOUTS[cost, fmt]
    if cost == "1":  # price only: nothing stored, nothing charged
        assert await stored(services) == []
        assert await balance(services) == Decimal("100")
    else:
        assert len(await stored(services)) == 2
        assert await balance(services) == Decimal("90")


async def test_price_only_allocates_no_id(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    assert (await send(client, cost="1", fmt="1")).text == "2.50,1"
    assert (await send(client, fmt="1")).text == "1,1"


# --- ids (§2.1 `id`, §1.4) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "fmt", "expected"),
    [
        ("42", "0", "OK - 2 SMS, ID - 42"),
        ("42", "1", "42,2"),
        ("42", "2", f"{XML}<result><cnt>2</cnt><id>42</id></result>"),
        ("42", "3", '{"id": 42, "cnt": 2}'),
        ("2147483647", "1", "2147483647,2"),
        ("order-7.b_X", "0", "OK - 2 SMS, ID - order-7.b_X"),
        ("order-7.b_X", "1", "order-7.b_X,2"),
        ("order-7.b_X", "2", f"{XML}<result><cnt>2</cnt><id>order-7.b_X</id></result>"),
        ("order-7.b_X", "3", '{"id": "order-7.b_X", "cnt": 2}'),
        ("x" * 40, "1", f"{'x' * 40},2"),
    ],
)
async def test_client_id_is_echoed_and_stored(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    client_id: str,
    fmt: str,
    expected: str,
) -> None:
    response = await send(client, phones=f"{MTS},{MEGAFON}", id=client_id, fmt=fmt)
    assert response.text == expected
    # One id covers every recipient of the request.
    assert [row["client_id"] for row in await stored(services)] == [client_id, client_id]


async def test_json_id_is_a_number_only_when_numeric(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert (await send(client, id="77", fmt="3")).json()["id"] == 77
    assert (await send(client, id="77a", fmt="3")).json()["id"] == "77a"
    assert (await send(client, fmt="3")).json()["id"] == 1


async def test_allocated_ids_are_strictly_increasing(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """Absent, empty and ``0`` (what the official libraries send) all mean "allocate"."""
    ids = []
    for index, extra in enumerate([{}, {"id": ""}, {"id": "0"}, {"id": "500"}, {}, {"id": "0"}]):
        reply = (await send(client, mes=f"Message {index}", fmt="1", **extra)).text
        ids.append(reply.split(",")[0])
    assert ids == ["1", "2", "3", "500", "4", "5"]
    assert [row["client_id"] for row in await stored(services)] == ids


# --- per-number details (§2.8) -----------------------------------------------------------------

ACCEPTED = {"phone": MTS, "mccmnc": "25001", "cost": "2.50", "status": "", "error": ""}
REJECTED = {"phone": INVALID, "mccmnc": "", "cost": "0.00", "status": "22", "error": "249"}


def details(fmt: str, rows: list[dict[str, str]]) -> str:
    """The reply to the two-number request below, with ``rows`` listed (§2.8)."""
    if fmt == "3":
        return json.dumps({"id": 1, "cnt": 1, "phones": rows})
    if fmt == "2":
        items = "".join(
            "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in row.items()) + "</item>"
            for row in rows
        )
        return f"{XML}<result><cnt>1</cnt><id>1</id><phones>{items}</phones></result>"
    if fmt == "1":
        return "\n".join(["1,1"] + [",".join(row.values()) for row in rows])
    lines = [", ".join(f"{k} = {v}" for k, v in row.items()) for row in rows]
    return "\n".join(["OK - 1 SMS, ID - 1", *lines])


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize(
    ("flags", "rows"),
    [
        pytest.param({"op": "1"}, [ACCEPTED, REJECTED], id="op"),
        pytest.param({"err": "1"}, [REJECTED], id="err"),
        pytest.param({"op": "1", "err": "1"}, [ACCEPTED, REJECTED], id="op-wins"),
    ],
)
async def test_per_number_details(
    client: httpx.AsyncClient,
    alice: AccountRecord,
    fmt: str,
    flags: dict[str, str],
    rows: list[dict[str, str]],
) -> None:
    response = await send(client, phones=f"{MTS},{INVALID}", fmt=fmt, **flags)
    assert response.text == details(fmt, rows)


async def test_err_list_is_empty_when_all_are_accepted(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert (await send(client, err="1", fmt="1")).text == "1,1"
    assert (await send(client, err="1", mes="Other", fmt="3")).json() == {"id": 2, "cnt": 1}


# --- recipients (§1.6, §2.2, §2.5) -------------------------------------------------------------


async def test_duplicate_numbers_are_sent_once(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    phones = f"{MTS}, +{MTS};8 (916) 123-45-67\n9161234567\r\n{MEGAFON}"
    assert (await send(client, phones=phones, cost="3", fmt="1")).text == "1,2,5.00,95.00"
    assert [row["phone"] for row in await stored(services)] == [MTS, MEGAFON]


async def test_rejected_recipients_are_stored_as_final_with_cost_0(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert await services.tariffs.delete(TariffRule(price=PRICE))
    await services.tariffs.set(TariffRule(price=PRICE, operator="МТС"))
    response = await send(client, phones=f"{MTS},{INVALID},{MEGAFON}", cost="3", fmt="1")
    assert response.text == "1,1,2.50,97.50"
    rows = await stored(services)
    summary = {r["phone"]: (r["status"], r["err"], Decimal(r["cost"])) for r in rows}
    assert summary == {
        MTS: (-1, 0, PRICE),
        INVALID: (22, 249, Decimal(0)),
        MEGAFON: (25, 248, Decimal(0)),
    }
    assert {r["client_id"] for r in rows} == {"1"}


async def test_list_gives_each_number_its_own_text(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    text = (
        f"{MTS}:Hello: your order is ready\n"
        "\n"
        f"{MEGAFON},{BEELINE}:Привет\\nмир\n"
        f"79160000001:__HLR__ is not a prefix here\n"
        f"{MTS}:sent once\n"
    )
    response = await send(
        client, phones="79169999999", mes="ignored", list=text, nl="1", cost="3", fmt="1"
    )
    assert response.text == "1,4,10.00,90.00"
    rows = await stored(services)
    assert [(r["phone"], r["text"], r["msg_type"]) for r in rows] == [
        (MTS, "Hello: your order is ready", 0),
        (MEGAFON, "Привет\nмир", 0),
        (BEELINE, "Привет\nмир", 0),
        ("79160000001", "__HLR__ is not a prefix here", 0),
    ]
    assert {r["client_id"] for r in rows} == {"1"}


# --- text: parts, translit, maxsms, comments, prefixes (§1.3, §2.3) ---------------------------


@pytest.mark.parametrize(
    ("text", "parts", "encoding"),
    [
        pytest.param("a" * 160, 1, GSM7, id="160-latin"),
        pytest.param("a" * 161, 2, GSM7, id="161-latin"),
        pytest.param("a" * 1000, 7, GSM7, id="1000-latin"),
        pytest.param("я" * 70, 1, UCS2, id="70-cyrillic"),
        pytest.param("я" * 71, 2, UCS2, id="71-cyrillic"),
        pytest.param("я" * 1000, 15, UCS2, id="1000-cyrillic"),
        pytest.param("€" * 80, 1, GSM7, id="80-euro"),
        pytest.param("€" * 81, 2, GSM7, id="81-euro"),
        pytest.param("{" * 80, 1, GSM7, id="80-brace"),
        pytest.param("{" * 81, 2, GSM7, id="81-brace"),
        pytest.param("a" * 159 + "^", 2, GSM7, id="extension-at-the-end"),
    ],
)
async def test_parts_and_cost(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    text: str,
    parts: int,
    encoding: int,
) -> None:
    cost = PRICE * parts
    response = await send(client, mes=text, cost="3", fmt="1")
    assert response.text == f"1,{parts},{cost:.2f},{Decimal(100) - cost:.2f}"
    [row] = await stored(services)
    assert (row["text"], row["parts"], row["encoding"]) == (text, parts, encoding)
    assert Decimal(row["cost"]) == cost
    assert await balance(services) == Decimal(100) - cost


@pytest.mark.parametrize(
    ("translit", "text", "encoding"),
    [
        ("0", "Привет, Ёжик! Щука", UCS2),
        ("1", "Privet, Yozhik! Schuka", GSM7),
        ("2", "npuBem, E>|<uk! LLLyka", GSM7),
    ],
)
async def test_translit(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    translit: str,
    text: str,
    encoding: int,
) -> None:
    assert (await send(client, mes="Привет, Ёжик! Щука", translit=translit, fmt="1")).text == "1,1"
    [row] = await stored(services)
    assert (row["text"], row["encoding"]) == (text, encoding)


@pytest.mark.parametrize(
    ("text", "maxsms", "kept", "parts"),
    [
        ("b" * 400, "2", "b" * 306, 2),
        ("b" * 400, "1", "b" * 160, 1),
        ("b" * 400, "5", "b" * 400, 3),
        ("я" * 100, "1", "я" * 70, 1),
        ("€" * 100, "1", "€" * 80, 1),
    ],
)
async def test_maxsms_truncates_to_whole_parts(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    text: str,
    maxsms: str,
    kept: str,
    parts: int,
) -> None:
    response = await send(client, mes=text, maxsms=maxsms, cost="2", fmt="1")
    assert response.text == f"1,{parts},{PRICE * parts:.2f}"
    [row] = await stored(services)
    assert (row["text"], row["parts"]) == (kept, parts)


@pytest.mark.parametrize(
    ("mes", "text", "comment", "parts"),
    [
        ("a" * 160 + "\n~~~\ninternal note", "a" * 160, "internal note", 1),
        ("Ваш код\r\n~~~\r\nline 1\r\nline 2", "Ваш код", "line 1\r\nline 2", 1),
        ("a" * 1000 + "\n~~~\n" + "c" * 500, "a" * 1000, "c" * 500, 7),
        ("Hi\n~~~\n" + "c" * 1200, "Hi", "c" * 1000, 1),
        ("Hi\n~~~", "Hi", "", 1),
        ("Hi ~~~ there", "Hi ~~~ there", None, 1),
    ],
)
async def test_comment_is_stored_apart_and_not_counted(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    mes: str,
    text: str,
    comment: str | None,
    parts: int,
) -> None:
    assert (await send(client, mes=mes, fmt="1")).text == f"1,{parts}"
    [row] = await stored(services)
    assert (row["text"], row["comment"], row["parts"]) == (text, comment, parts)


@pytest.mark.parametrize(
    ("params", "msg_type", "sender", "text"),
    [
        ({"mes": "__HLR__"}, MessageType.HLR, "HLR", ""),
        ({"mes": "__HLR__anything"}, MessageType.HLR, "HLR", ""),
        ({"mes": "", "hlr": "1"}, MessageType.HLR, "HLR", ""),
        ({"mes": "__HLR__", "hlr": "1", "sender": "Shop"}, MessageType.HLR, "HLR", ""),
        ({"mes": "__PING__"}, MessageType.PING, None, ""),
        ({"mes": " __HLR__"}, MessageType.SMS, None, " __HLR__"),
        ({"mes": "__hlr__"}, MessageType.SMS, None, "__hlr__"),
        ({"mes": "Flash!", "flash": "1", "sender": "Shop"}, MessageType.FLASH, "Shop", "Flash!"),
    ],
)
async def test_prefixes_and_type_flags(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    params: dict[str, str],
    msg_type: MessageType,
    sender: str | None,
    text: str,
) -> None:
    assert (await send(client, fmt="1", **params)).text == "1,1"
    [row] = await stored(services)
    assert (row["msg_type"], row["sender"], row["text"]) == (msg_type, sender, text)


@pytest.mark.parametrize(
    ("params", "sender"),
    [({}, "Shop"), ({"sender": ""}, None), ({"sender": "."}, None), ({"sender": "Shop"}, "Shop")],
)
async def test_sender_defaults(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    params: dict[str, str],
    sender: str | None,
) -> None:
    await services.accounts.change("alice", AccountChanges(default_sender="Shop"))
    assert (await send(client, fmt="1", **params)).text == "1,1"
    [row] = await stored(services)
    assert row["sender"] == sender


# --- voice code (§2.9) -------------------------------------------------------------------------

VOICE_CODE = {
    "0": r"OK - 2 SMS, ID - 1, COST - 5\.00, BALANCE - 95\.00, CODE - (\d{4})",
    "1": r"1,2,5\.00,95\.00,(\d{4})",
    "2": re.escape(XML) + r"<result><cnt>2</cnt><id>1</id><cost>5\.00</cost>"
    r"<balance>95\.00</balance><code>(\d{4})</code></result>",
    "3": r'\{"id": 1, "cnt": 2, "cost": "5\.00", "balance": "95\.00", "code": "(\d{4})"\}',
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_voice_code(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    response = await send(
        client, phones=f"{MTS},{MEGAFON}", mes="code", call="1", cost="3", fmt=fmt
    )
    match = re.fullmatch(VOICE_CODE[fmt], response.text)
    assert match, response.text
    if fmt == "3":
        assert isinstance(response.json()["code"], str)  # keeps leading zeros
    rows = await stored(services)
    # One code per request, spoken to every recipient.
    assert [(r["msg_type"], r["text"]) for r in rows] == [(MessageType.CALL, match[1])] * 2


async def test_voice_code_by_prefix(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    reply = (await send(client, mes="__CALL__code", fmt="1")).text.split(",")
    assert reply[:2] == ["1", "1"]
    assert re.fullmatch(r"\d{4}", reply[2])
    [row] = await stored(services)
    assert (row["msg_type"], row["text"]) == (MessageType.CALL, reply[2])


# --- test mode (protocols.md §1.5) -------------------------------------------------------------


@pytest.mark.parametrize("switch", ["test", "virtsms", "account"])
async def test_test_mode_is_free_and_stored_as_test(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, switch: str
) -> None:
    params = {"phones": f"{MTS},{MEGAFON}", "cost": "3", "fmt": "1", "op": "1"}
    if switch == "account":
        await services.accounts.change("alice", AccountChanges(test_mode=True))
    else:
        params[switch] = "1"
    response = await send(client, **params)
    assert response.text == f"1,2,0.00,100.00\n{MTS},25001,0.00,,\n{MEGAFON},25002,0.00,,"
    rows = await stored(services)
    assert [(r["test"], Decimal(r["cost"])) for r in rows] == [(True, Decimal(0))] * 2
    assert await balance(services) == Decimal("100")


async def test_test_mode_skips_the_money_check(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await services.accounts.top_up("alice", Decimal("-100"))
    assert (await send(client, cost="3", fmt="1")).text == "1,-3"
    assert (await send(client, cost="3", test="1", fmt="1")).text == "2,1,0.00,0.00"
    assert await balance(services) == Decimal(0)


async def test_test_mode_price_query_shows_real_prices(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert (await send(client, cost="1", test="1", fmt="1")).text == "2.50,1"


# --- scheduling (§2.4) -------------------------------------------------------------------------


START = 1_764_000_000.0  # ManualClock's start: 24.11.2025 19:00 Moscow time


def moscow(day: int, hour: int, minute: int, offset_h: int = 0) -> float:
    """A wall time in November 2025, ``offset_h`` hours from Moscow, as Unix seconds."""
    zone = timezone(timedelta(hours=3 + offset_h))
    return datetime(2025, 11, day, hour, minute, tzinfo=zone).timestamp()


@pytest.mark.parametrize(
    ("params", "due_at"),
    [
        pytest.param({"time": "+60"}, START + 3600, id="plus-60-minutes"),
        pytest.param({"time": "0"}, START, id="zero-is-now"),
        pytest.param({"time": "0101201200"}, START, id="past-is-now"),
        pytest.param({"time": "2511252030"}, moscow(25, 20, 30), id="ddmmyyhhmm"),
        pytest.param({"time": "25.11.25 20:30"}, moscow(25, 20, 30), id="dotted"),
        pytest.param({"time": "2511252030", "tz": "-1"}, moscow(25, 20, 30, -1), id="tz"),
        pytest.param({"time": f"0{int(START) + 600}"}, START + 600, id="unix"),
    ],
)
async def test_time_sets_due_at(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    clock: ManualClock,
    params: dict[str, str],
    due_at: float,
) -> None:
    assert clock.now() == START
    assert (await send(client, fmt="1", **params)).text == "1,1"
    [row] = await stored(services)
    assert row["due_at"] == pytest.approx(due_at)
    assert row["status"] == -1
    assert row["valid_until"] == pytest.approx(due_at + 24 * 3600)


async def test_valid_sets_the_validity(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    assert (await send(client, time="+60", valid="2", fmt="1")).text == "1,1"
    assert (await send(client, mes="Other", valid="01:30", fmt="1")).text == "2,1"
    first, second = await stored(services)
    assert first["valid_until"] == pytest.approx(clock.now() + 3600 + 7200)
    assert second["valid_until"] == pytest.approx(clock.now() + 5400)


# --- charging (§2.10) --------------------------------------------------------------------------


async def test_debit_equals_the_reported_cost(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    phones = f"{MTS},{MEGAFON},{BEELINE},{INVALID}"
    response = await send(client, phones=phones, mes="Ж" * 100, cost="3", fmt="3")
    assert response.json() == {"id": 1, "cnt": 6, "cost": "15.00", "balance": "85.00"}
    rows = await stored(services)
    assert sum(Decimal(r["cost"]) for r in rows) == Decimal("15")
    assert await balance(services) == Decimal("85")
