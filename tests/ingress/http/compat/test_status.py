"""status.php: every layout, multi requests, deletion, errors and limits (http-api.md §3, §1.7)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.repos.messages import NewMessage
from smsgate.store.schema import messages
from tests.conftest import ClientFactory
from tests.support.clock import ManualClock

PASSWORD = "correct-horse-1"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
START = 1_764_000_000  # ManualClock's start
SENT_TS, CHANGED_TS = START - 3600, START - 60
# The account's zone is Moscow + 1 h, i.e. UTC+4 (http-api.md §1.4).
SENT, CHANGED = "24.11.2025 19:00:00", "24.11.2025 19:59:00"
PHONE, UNKNOWN_PHONE = "79161234567", "79160000000"
DELIVERED, NOT_FOUND = "Доставлено", "Сообщение не найдено"

SMS = NewMessage(
    account_id=0,
    client_id="7",
    phone=PHONE,
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
    operator_orig="Beeline",
    region="Moscow",
    mccmnc="25001",
    test=False,
    options=None,
    created_at=SENT_TS + 0.7,  # fractions of a second are dropped
    updated_at=CHANGED_TS,
    due_at=SENT_TS,
    valid_until=SENT_TS + 86400,
)
HLR = replace(SMS, client_id="h1", msg_type=MessageType.HLR, sender=None, text="", comment=None)


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("10"))

    async def op(conn: AsyncConnection) -> None:
        await account_repo.update_account(
            conn, account.id, bump_auth=False, now=services.clock.now(), tz_minutes=60
        )

    await services.writer.submit(op)
    return account


async def add(services: Services, account: AccountRecord, message: NewMessage = SMS) -> int:
    async def op(conn: AsyncConnection) -> list[int]:
        return await message_repo.insert_many(conn, [replace(message, account_id=account.id)])

    return (await services.writer.submit(op))[0]


async def stored(services: Services, account: AccountRecord, client_id: str) -> tuple[int, bool]:
    """The status and the deleted flag of the message row, deleted or not."""
    query = select(messages.c.status, messages.c.deleted).where(
        messages.c.account_id == account.id, messages.c.client_id == client_id
    )
    async with services.db.read() as conn:
        row = (await conn.execute(query)).one()
    return int(row.status), bool(row.deleted)


async def status(client: httpx.AsyncClient, **params: str) -> str:
    response = await client.get(
        "/sys/status.php", params={"login": "alice", "psw": PASSWORD, **params}
    )
    assert response.status_code == 200
    assert response.content, "official clients treat an empty body as a transport failure"
    return response.text


# --- single message ------------------------------------------------------------------------------

SMS_TEXT = {
    ("0", "0"): f"Status = 1, check_time = {CHANGED}, err = 0",
    ("1", "0"): f"1,{CHANGED_TS},0",
    ("0", "1"): f"Status = 1, check_time = {CHANGED}, err = 0, send_date = {SENT}, "
    f"phone = {PHONE}, cost = 3.30, sender_id = Shop, status_name = {DELIVERED}, "
    "message = Hello, world, comment = order 5, type = 0",
    ("1", "1"): f"1,{CHANGED_TS},0,{SENT_TS},{PHONE},3.30,Shop,{DELIVERED},Hello, world,order 5,0",
    ("0", "2"): f"Status = 1, check_time = {CHANGED}, err = 0, send_date = {SENT}, "
    f"phone = {PHONE}, cost = 3.30, country = RU, operator = MTS, region = Moscow, "
    f"sender_id = Shop, status_name = {DELIVERED}, message = Hello, world, comment = order 5, "
    "type = 0",
    ("1", "2"): f"1,{CHANGED_TS},0,{SENT_TS},{PHONE},3.30,RU,MTS,Moscow,Shop,{DELIVERED},"
    "Hello, world,order 5,0",
}
SMS_FIELDS: list[tuple[str, object]] = [
    ("status", 1),
    ("last_date", CHANGED),
    ("last_timestamp", CHANGED_TS),
    ("flag", 0),
    ("err", 0),
    ("send_date", SENT),
    ("send_timestamp", SENT_TS),
    ("phone", PHONE),
    ("cost", "3.30"),
    ("sender_id", "Shop"),
    ("status_name", DELIVERED),
    ("message", "Hello, world"),
    ("comment", "order 5"),
    ("type", 0),
    ("sms_cnt", 1),
    ("country", "RU"),
    ("operator", "MTS"),
    ("operator_orig", "Beeline"),
    ("region", "Moscow"),
    ("mccmnc", "25001"),
]
LEVEL_SIZE = {"0": 5, "1": 15, "2": 20}
HLR_FIELDS = ["imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet"]


Fields = list[tuple[str, object]]


def structured(fields: Fields, level: str, hlr: bool = False) -> Fields:
    """The fmt 2/3 fields of a level, in order; HLR fields follow ``err``."""
    chosen = fields[: LEVEL_SIZE[level]]
    if hlr:
        chosen = chosen[:5] + [(name, "") for name in HLR_FIELDS] + chosen[5:]
    return chosen


def xml_of(fields: Fields) -> str:
    return "".join(f"<{name}>{value}</{name}>" for name, value in fields)


@pytest.mark.parametrize("level", ["0", "1", "2"])
@pytest.mark.parametrize("fmt", ["0", "1", "2", "3"])
async def test_single_layouts(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, level: str
) -> None:
    await add(services, alice)
    body = await status(client, id="7", phone="+7 (916) 123-45-67", fmt=fmt, all=level)
    fields = structured(SMS_FIELDS, level)
    if fmt == "2":
        assert body == f"{XML}<sms>{xml_of(fields)}</sms>"
    elif fmt == "3":
        assert list(json.loads(body).items()) == fields
    else:
        assert body == SMS_TEXT[fmt, level]


NOT_FOUND_FIELDS: list[tuple[str, object]] = [
    ("status", -3),
    ("last_date", ""),
    ("last_timestamp", 0),
    ("flag", 0),
    ("err", 0),
    ("send_date", ""),
    ("send_timestamp", 0),
    ("phone", UNKNOWN_PHONE),
    ("cost", "0.00"),
    ("sender_id", ""),
    ("status_name", NOT_FOUND),
    ("message", ""),
    ("comment", ""),
    ("type", 0),
    ("sms_cnt", 0),
    *[(name, "") for name in ("country", "operator", "operator_orig", "region", "mccmnc")],
]
NOT_FOUND_TEXT = {
    ("0", "0"): "Status = -3, check_time = , err = 0",
    ("1", "0"): "-3,0,0",
    ("0", "1"): f"Status = -3, check_time = , err = 0, send_date = , phone = {UNKNOWN_PHONE}, "
    f"cost = 0.00, sender_id = , status_name = {NOT_FOUND}, message = , comment = , type = 0",
    ("1", "1"): f"-3,0,0,0,{UNKNOWN_PHONE},0.00,,{NOT_FOUND},,,0",
    ("0", "2"): f"Status = -3, check_time = , err = 0, send_date = , phone = {UNKNOWN_PHONE}, "
    "cost = 0.00, country = , operator = , region = , sender_id = , "
    f"status_name = {NOT_FOUND}, message = , comment = , type = 0",
    ("1", "2"): f"-3,0,0,0,{UNKNOWN_PHONE},0.00,,,,,{NOT_FOUND},,,0",
}


@pytest.mark.parametrize("level", ["0", "1", "2"])
@pytest.mark.parametrize("fmt", ["0", "1", "2", "3"])
async def test_unknown_message_is_status_minus_3(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, level: str
) -> None:
    await add(services, alice)  # same id, other phone
    body = await status(client, id="7", phone="8 916 000-00-00", fmt=fmt, all=level)
    fields = structured(NOT_FOUND_FIELDS, level)
    if fmt == "2":
        assert body == f"{XML}<sms>{xml_of(fields)}</sms>"
    elif fmt == "3":
        assert list(json.loads(body).items()) == fields
    else:
        assert body == NOT_FOUND_TEXT[fmt, level]


HLR_VALUES = dict(
    SMS_FIELDS, flag=4, sender_id="HLR", message="", comment="", type=int(MessageType.HLR)
)
HLR0 = f"Status = 1, check_time = {CHANGED}, err = 0, " + ", ".join(
    f"{name} = " for name in HLR_FIELDS
)
HLR_TEXT = {
    ("0", "0"): HLR0,
    ("1", "0"): f"1,{CHANGED_TS},0,,,,,,,,",
    ("0", "1"): f"{HLR0}, send_date = {SENT}, phone = {PHONE}, cost = 3.30, sender_id = HLR, "
    f"status_name = {DELIVERED}, message = , comment = , type = 4",
    ("1", "1"): f"1,{CHANGED_TS},0,,,,,,,,,{SENT_TS},{PHONE},3.30,HLR,{DELIVERED},,,4",
    ("0", "2"): f"{HLR0}, send_date = {SENT}, phone = {PHONE}, cost = 3.30, country = RU, "
    f"operator = MTS, region = Moscow, sender_id = HLR, status_name = {DELIVERED}, "
    "message = , comment = , type = 4",
    (
        "1",
        "2",
    ): f"1,{CHANGED_TS},0,,,,,,,,,{SENT_TS},{PHONE},3.30,RU,MTS,Moscow,HLR,{DELIVERED},,,4",
}


@pytest.mark.parametrize("level", ["0", "1", "2"])
@pytest.mark.parametrize("fmt", ["0", "1", "2", "3"])
async def test_hlr_layouts(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, level: str
) -> None:
    await add(services, alice, HLR)
    body = await status(client, id="h1", phone=PHONE, fmt=fmt, all=level)
    fields = structured(list(HLR_VALUES.items()), level, hlr=True)
    if fmt == "2":
        assert body == f"{XML}<sms>{xml_of(fields)}</sms>"
    elif fmt == "3":
        assert list(json.loads(body).items()) == fields
    else:
        assert body == HLR_TEXT[fmt, level]


@pytest.mark.parametrize(("level", "index"), [("1", 14), ("2", 17)])
async def test_official_client_parsing_rule(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, level: str, index: int
) -> None:
    """Libraries split fmt 1 on commas; unless field 14 (all=1) / 17 (all=2) is ``HLR`` they
    re-join every field from index 8 / 11 as the message text (http-api.md §3)."""
    text = "Code 1,2,3; see, you, later"
    await add(services, alice, replace(SMS, text=text, comment=""))
    await add(services, alice, HLR)
    start = 8 if level == "1" else 11
    fields = (await status(client, id="7", phone=PHONE, fmt="1", all=level)).split(",")
    assert len(fields) > 9 and (len(fields) <= index or fields[index] != "HLR")
    rejoined = ",".join(fields[start:])
    assert rejoined.rsplit(",", 2) == [text, "", "0"]  # the text, then comment and type
    assert fields[start - 2 : start] == ["Shop", DELIVERED]
    hlr_fields = (await status(client, id="h1", phone=PHONE, fmt="1", all=level)).split(",")
    assert hlr_fields[index] == "HLR"
    assert hlr_fields[index + 1] == DELIVERED


@pytest.mark.parametrize(
    "msg_type", [MessageType.FLASH, MessageType.PUSH, MessageType.MAIL, MessageType.TG]
)
async def test_flag_carries_the_message_type(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, msg_type: MessageType
) -> None:
    """codes.md §4.2: bits 0-3 of ``flag`` are the type; ``type`` is the type as well."""
    await add(services, alice, replace(SMS, msg_type=msg_type))
    body = json.loads(await status(client, id="7", phone=PHONE, fmt="3", all="1"))
    assert (body["flag"], body["type"]) == (int(msg_type), int(msg_type))
    assert body["sender_id"] == "Shop"


async def test_most_recent_match_wins_and_other_accounts_are_invisible(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    bob = await services.accounts.create("bob", PASSWORD)
    await add(services, alice, replace(SMS, status=20, err=6))
    await add(services, alice, replace(SMS, status=0))
    await add(services, bob, replace(SMS, status=3))
    assert await status(client, id="7", phone=PHONE, fmt="1") == f"0,{CHANGED_TS},0"
    await add(services, bob, replace(SMS, client_id="8"))
    assert await status(client, id="8", phone=PHONE, fmt="1") == "-3,0,0"


async def test_mail_address_matches_case_insensitively(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await add(services, alice, replace(SMS, phone="ivan@example.com", msg_type=MessageType.MAIL))
    await add(services, alice, replace(SMS, client_id="9", phone="Petr@mail.example"))
    first = json.loads(await status(client, id="7", phone=" Ivan@Example.COM ", fmt="3", all="1"))
    assert (first["status"], first["phone"], first["flag"]) == (1, "ivan@example.com", 8)
    # Stored as send.php stores it (domain lower-cased) and asked for with the same spelling.
    second = json.loads(await status(client, id="9", phone="Petr@MAIL.example", fmt="3", all="1"))
    assert (second["status"], second["phone"]) == (1, "Petr@mail.example")


async def test_international_number_stored_without_plus(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """``+84912345678`` is stored as ``84912345678``, which alone would auto-correct to 749…"""
    await add(services, alice, replace(SMS, phone="84912345678"))
    for phone in ("+84912345678", "84912345678"):
        assert await status(client, id="7", phone=phone, fmt="1") == f"1,{CHANGED_TS},0"


@pytest.mark.parametrize(("charset", "fmt"), [("windows-1251", "1"), ("koi8-r", "2")])
async def test_status_name_in_the_response_charset(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, charset: str, fmt: str
) -> None:
    await add(services, alice)
    params = {"login": "alice", "psw": PASSWORD, "id": "7", "phone": PHONE, "all": "1"}
    response = await client.get(
        "/sys/status.php", params={**params, "fmt": fmt, "charset": charset}
    )
    assert response.headers["content-type"].endswith(f"charset={charset}")
    assert DELIVERED.encode(charset) in response.content


# --- multi requests ------------------------------------------------------------------------------


def without_phone(fields: Fields) -> Fields:
    return [(name, value) for name, value in fields if name != "phone"]


@pytest.mark.parametrize("level", ["0", "1", "2"])
@pytest.mark.parametrize("fmt", ["0", "1", "2", "3"])
async def test_multi_layouts(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, level: str
) -> None:
    await add(services, alice)
    body = await status(
        client, id="7, 999", phone="8 916 123-45-67,79160000000", fmt=fmt, all=level
    )
    found, missing = structured(SMS_FIELDS, level), structured(NOT_FOUND_FIELDS, level)
    if fmt == "0":
        assert body == (
            f"id = 7, phone = {PHONE}, {SMS_TEXT[fmt, level]}\n"
            f"id = 999, phone = {UNKNOWN_PHONE}, {NOT_FOUND_TEXT[fmt, level]}"
        )
    elif fmt == "1":
        assert body == (
            f"7,{PHONE},{SMS_TEXT[fmt, level]}\n999,{UNKNOWN_PHONE},{NOT_FOUND_TEXT[fmt, level]}"
        )
    elif fmt == "2":
        assert body == (
            f"{XML}<list><sms><id>7</id><phone>{PHONE}</phone>{xml_of(without_phone(found))}</sms>"
            f"<sms><id>999</id><phone>{UNKNOWN_PHONE}</phone>{xml_of(without_phone(missing))}"
            "</sms></list>"
        )
    else:
        assert [list(item.items()) for item in json.loads(body)] == [
            [("id", 7), ("phone", PHONE), *without_phone(found)],
            [("id", 999), ("phone", UNKNOWN_PHONE), *without_phone(missing)],
        ]


async def multi_ids(client: httpx.AsyncClient, clock: ManualClock, **params: str) -> list[object]:
    """The (id, phone, status) of each record of a multi request (one per minute: §1.7)."""
    await clock.advance(61)
    return [
        (item["id"], item["phone"], item["status"])
        for item in json.loads(await status(client, fmt="3", **params))
    ]


async def test_multi_pairing_rules(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(services, alice)
    await add(services, alice, replace(SMS, client_id="abc"))
    # A trailing comma makes a multi request of one message.
    assert await multi_ids(client, clock, id="7,", phone=PHONE) == [(7, PHONE, 1)]
    assert await multi_ids(client, clock, id="7", phone=f"{PHONE},") == [(7, PHONE, 1)]
    # One phone applies to every id; empty trailing items are ignored.
    # Numeric ids are numbers, as send.php stores them ("007" is 7).
    assert await multi_ids(client, clock, id="007,abc,x-1,,", phone=f"{PHONE},,") == [
        (7, PHONE, 1),
        ("abc", PHONE, 1),
        ("x-1", PHONE, -3),
    ]
    assert await multi_ids(client, clock, id="7,7", phone=f"{PHONE},{UNKNOWN_PHONE}") == [
        (7, PHONE, 1),
        (7, UNKNOWN_PHONE, -3),
    ]
    thousand = ",".join(str(n) for n in range(1000))
    assert len(await multi_ids(client, clock, id=thousand, phone=PHONE)) == 1000


async def test_multi_escapes_line_breaks_in_text_formats(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(services, alice, replace(SMS, text="line 1\nline 2\r\nline 3", comment=None))
    single = await status(client, id="7", phone=PHONE, fmt="1", all="1")
    assert single.endswith(",line 1\nline 2\r\nline 3,,0")  # one record: written as it is
    multi = await status(client, id="7,7", phone=PHONE, fmt="1", all="1")
    assert multi.split("\n")[0].endswith(",line 1\\nline 2\\nline 3,,0")
    assert len(multi.split("\n")) == 2
    await clock.advance(61)
    multi = await status(client, id="7,7", phone=PHONE, fmt="0", all="1")
    assert "message = line 1\\nline 2\\nline 3, comment = , type = 0\nid = 7" in multi


# --- errors --------------------------------------------------------------------------------------

ENVELOPES = {
    "0": "ERROR = {code} ({text})",
    "1": "0,-{code}",
    "2": XML + "<result><error>{text}</error><error_code>{code}</error_code></result>",
    "3": '{{"error": "{text}", "error_code": {code}}}',
}
TOO_MANY_PAIRS = ",".join(str(n) for n in range(1001))


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        pytest.param({"phone": PHONE}, 1, "parameters error", id="no-id"),
        pytest.param({"id": "7", "phone": " "}, 1, "parameters error", id="no-phone"),
        pytest.param({"id": "1,2,3", "phone": "7916,7917"}, 1, "parameters error", id="mismatch"),
        pytest.param({"id": "7", "phone": f"{PHONE},{PHONE}"}, 1, "parameters error", id="1-id"),
        pytest.param({"id": "7,,8", "phone": PHONE}, 1, "parameters error", id="empty-item"),
        pytest.param({"id": TOO_MANY_PAIRS, "phone": PHONE}, 1, "parameters error", id="1001"),
        pytest.param({"id": "7", "phone": PHONE, "all": "3"}, 1, "parameters error", id="all"),
        pytest.param({"id": "7", "phone": PHONE, "del": "2"}, 1, "parameters error", id="del"),
        pytest.param({"id": "7,", "phone": PHONE, "del": "1"}, 1, "parameters error", id="del-m"),
        pytest.param({"id": "7", "phone": PHONE, "psw": "wrong"}, 2, "authorise error", id="psw"),
        pytest.param({"id": "8", "phone": PHONE, "del": "1"}, 5, "delete error", id="del-none"),
        pytest.param({"id": "7", "phone": PHONE}, 9, "too many requests", id="limit"),
    ],
)
@pytest.mark.parametrize("fmt", ["0", "1", "2", "3"])
async def test_errors(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    params: dict[str, str],
    code: int,
    text: str,
    fmt: str,
) -> None:
    await add(services, alice)
    if code == 9:
        for _ in range(5):
            await status(client, **params)
    assert await status(client, **params, fmt=fmt) == ENVELOPES[fmt].format(code=code, text=text)


async def test_blocked_ip_is_error_4(
    make_client: ClientFactory, services: Services, alice: AccountRecord
) -> None:
    attacker = make_client("203.0.113.7")
    for _ in range(5):
        assert await status(attacker, id="7", phone=PHONE, psw="wrong", fmt="1") == "0,-2"
    for fmt in ENVELOPES:
        expected = ENVELOPES[fmt].format(code=4, text="IP is temporarily blocked")
        assert await status(attacker, id="7", phone=PHONE, fmt=fmt) == expected


# --- del=1 ---------------------------------------------------------------------------------------


async def balance(client: httpx.AsyncClient) -> str:
    response = await client.get(
        "/sys/balance.php", params={"login": "alice", "psw": PASSWORD, "fmt": "3"}
    )
    return str(response.json()["balance"])


@pytest.mark.parametrize(
    ("fmt", "ok"),
    [("0", "OK"), ("1", "OK"), ("2", f"{XML}<result>OK</result>"), ("3", '{"result": "OK"}')],
)
async def test_delete_waiting_message_cancels_and_refunds(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, ok: str
) -> None:
    await add(services, alice, replace(SMS, status=-1))
    assert await status(client, id="7", phone=PHONE, fmt=fmt, **{"del": "1"}) == ok
    assert await balance(client) == "13.30"
    assert await stored(services, alice, "7") == (-2, True)
    # Gone from status, and a second deletion finds nothing.
    assert await status(client, id="7", phone=PHONE, fmt="1") == "-3,0,0"
    assert await status(client, id="7", phone=PHONE, fmt="1", **{"del": "1"}) == "0,-5"
    assert await balance(client) == "13.30"


async def test_delete_sent_message_keeps_status_and_balance(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await add(services, alice)
    assert await status(client, id="7", phone=f"+{PHONE}", fmt="3", **{"del": "1"}) == (
        '{"result": "OK"}'
    )
    assert await balance(client) == "10.00"
    assert await stored(services, alice, "7") == (1, True)


# --- rate limits (http-api.md §1.7) --------------------------------------------------------------


async def test_sixth_request_for_one_message_within_a_minute_is_error_9(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(services, alice)
    # The same message however it is asked for: level, format and spelling of the number differ.
    asks = [("0", "1", PHONE), ("1", "3", f"+{PHONE}"), ("2", "2", "89161234567")] * 2
    answers = [await status(client, id="7", phone=p, all=a, fmt=f) for a, f, p in asks[:5]]
    assert all("error" not in answer.lower() for answer in answers)
    assert await status(client, id="7", phone=PHONE, fmt="1") == "0,-9"
    # Another message has a limit of its own; a multi request counts toward the bulk limit only.
    assert await status(client, id="7", phone=UNKNOWN_PHONE, fmt="1") == "-3,0,0"
    assert (await status(client, id="7,", phone=PHONE, fmt="1")).startswith(f"7,{PHONE},1,")
    await clock.advance(61)
    assert await status(client, id="7", phone=PHONE, fmt="1") == f"1,{CHANGED_TS},0"


async def test_second_multi_request_within_a_minute_is_error_9(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    await add(services, alice)
    assert await status(client, id="7,", phone=PHONE, fmt="1") == f"7,{PHONE},1,{CHANGED_TS},0"
    assert await status(client, id="8,9", phone=PHONE, fmt="3") == (
        '{"error": "too many requests", "error_code": 9}'
    )
    assert await status(client, id="7", phone=PHONE, fmt="1") == f"1,{CHANGED_TS},0"
    await clock.advance(59)
    assert await status(client, id="7,", phone=PHONE, fmt="1") == "0,-9"
    await clock.advance(2)
    assert await status(client, id="7,", phone=PHONE, fmt="1") == f"7,{PHONE},1,{CHANGED_TS},0"


async def test_message_sent_through_send_php(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """The store as send.php leaves it: found by the id and number as the client wrote them."""
    await services.tariffs.set(TariffRule(price=Decimal("2.5")))
    sent = await client.get(
        "/sys/send.php",
        params={"login": "alice", "psw": PASSWORD, "phones": "8 916 123-45-67", "fmt": "3"}
        | {"mes": "Hi, there", "id": "0042"},
    )
    assert "error" not in sent.json()
    body = json.loads(await status(client, id="42", phone=f"+{PHONE}", fmt="3", all="1"))
    assert (body["status"], body["phone"], body["cost"], body["message"]) == (
        -1,
        PHONE,
        "2.50",
        "Hi, there",
    )
    assert await balance(client) == "7.50"
    assert await status(client, id="042", phone=PHONE, fmt="1", **{"del": "1"}) == "OK"
    assert await balance(client) == "10.00"
