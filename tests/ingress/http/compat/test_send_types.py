"""send.php message types with payloads of their own: ``bin=1``/``bin=2``, ``push=1`` and ``ping=1``
(http-api.md §2.1, §2.3; protocols.md §1.1, §1.4).

Each accepted message is checked three ways: the send.php reply in fmt 1 and fmt 3, the stored row
(type, ``cnt`` = parts, encoding, octets, cost = the type's price × cnt) and status.php's report of
it. The size rules give error 1: a binary message's UDH + payload over 140 octets, a push's URL +
title over 120 UTF-8 bytes, and malformed hex, UDH lengths and push texts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import RowMapping

from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from tests.ingress.http.compat.test_send_clients import MTS, PASSWORD, multipart, stored

BALANCE = Decimal("100")
SMS_PRICE = Decimal("2.50")
PRICES = {MessageType.BIN: Decimal("3.00"), MessageType.PUSH: Decimal("4.00")}
PRICES[MessageType.PING] = Decimal("0.50")
FMTS = ["1", "3"]

# A WAP push Service Indication as binary octets (the example of the SMSC client libraries): UDH
# 06 05 04 0B84 23F0 (application port addressing, ports 2948 ← 9200), then the WSP/WBXML payload.
UDH = "0605040B8423F0"
PAYLOAD = "DC0601AE02056A0045C60C036D79736974652E72750001036D7973697465000101"
OCTETS = bytes.fromhex(UDH + PAYLOAD)
DEFAULT_PID_DCS = {"pid": "0", "dcs": "4"}  # protocols.md §1.4
PUSH_URL = "http://example.com/"  # 19 bytes
BIN_LIMIT, PUSH_LIMIT = 140, 120


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=BALANCE)
    await services.tariffs.set(TariffRule(price=SMS_PRICE))
    for msg_type, price in PRICES.items():
        await services.tariffs.set(TariffRule(price=price, msg_type=msg_type))
    return account


def percent(octets: bytes) -> str:
    return "".join(f"%{octet:02X}" for octet in octets)


async def send(client: httpx.AsyncClient, fmt: str, query: str = "", **params: str) -> str:
    """send.php with ``cost=2``; ``query`` carries pre-encoded parameters (raw octets)."""
    base = {"login": "alice", "psw": PASSWORD, "phones": MTS, "cost": "2", "fmt": fmt}
    # Built by hand: httpx would re-encode percent-escapes that are not UTF-8.
    url = f"/sys/send.php?{urlencode({**base, **params})}" + (f"&{query}" if query else "")
    response = await client.get(url)
    assert response.status_code == 200
    return response.text


def sent(fmt: str, message_id: int, cnt: int, cost: Decimal) -> str:
    """The success body of http-api.md §2.6 with ``cost=2``."""
    if fmt == "1":
        return f"{message_id},{cnt},{cost:.2f}"
    return json.dumps({"id": message_id, "cnt": cnt, "cost": f"{cost:.2f}"})


def error(fmt: str, code: int, description: str = "parameters error") -> str:
    """The error envelope of http-api.md §1.5, without an id."""
    if fmt == "1":
        return f"0,-{code}"
    return json.dumps({"error": description, "error_code": code})


async def status_of(client: httpx.AsyncClient, message_id: int) -> dict[str, object]:
    response = await client.get(
        "/sys/status.php",
        params={"login": "alice", "psw": PASSWORD, "phone": MTS, "id": str(message_id)}
        | {"all": "1", "fmt": "3"},
    )
    body = response.json()
    assert isinstance(body, dict)
    return body


async def only_row(services: Services) -> RowMapping:
    rows: Sequence[RowMapping] = await stored(services)
    assert len(rows) == 1
    return rows[0]


async def check_binary(
    services: Services, client: httpx.AsyncClient, octets: bytes, pid_dcs: dict[str, str]
) -> None:
    """One stored binary message: type 2, one part, the octets as hex, priced as binary."""
    row = await only_row(services)
    assert (row["msg_type"], row["parts"], row["encoding"]) == (MessageType.BIN, 1, 2)
    assert (row["text"], row["cost"]) == (octets.hex(), PRICES[MessageType.BIN])
    assert json.loads(row["options"]) == pid_dcs
    report = await status_of(client, int(row["client_id"]))
    assert (report["status"], report["type"], report["flag"]) == (-1, 2, 2)
    assert (report["sms_cnt"], report["cost"], report["message"]) == (1, "3.00", octets.hex())


# --- bin=2: hexadecimal --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FMTS)
async def test_bin2_hex_with_udh(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    body = await send(client, fmt, mes=UDH + PAYLOAD, bin="2")
    assert body == sent(fmt, 1, 1, PRICES[MessageType.BIN])
    await check_binary(services, client, OCTETS, DEFAULT_PID_DCS)


@pytest.mark.parametrize(
    ("mes", "octets"),
    [
        pytest.param(f"{UDH.lower()} {PAYLOAD[:20]}\n{PAYLOAD[20:]}", OCTETS, id="spaced-lower"),
        pytest.param("0048656C6C6F", b"Hello", id="no-udh"),  # 00: no UDH, the octet dropped
    ],
)
async def test_bin2_hex_forms(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, mes: str, octets: bytes
) -> None:
    assert await send(client, "1", mes=mes, bin="2") == "1,1,3.00"
    await check_binary(services, client, octets, DEFAULT_PID_DCS)


async def test_bin2_pid_dcs_and_comment(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """After ``~~~`` a ``pid: X, dcs: Y`` setting sets TP-PID/TP-DCS; anything else is a comment."""
    assert await send(client, "1", mes=f"{UDH}{PAYLOAD}\n~~~\nDCS: 0xF5, pid:64", bin="2") == (
        "1,1,3.00"
    )
    await check_binary(services, client, OCTETS, {"pid": "64", "dcs": "245"})
    assert await send(client, "1", mes=f"{UDH}{PAYLOAD}\n~~~\nзаказ 5", bin="2") == "2,1,3.00"
    rows = await stored(services)
    assert (rows[1]["text"], rows[1]["comment"]) == (OCTETS.hex(), "заказ 5")
    assert json.loads(rows[1]["options"]) == DEFAULT_PID_DCS


# --- bin=1: the octets themselves ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("charset", ["utf-8", "windows-1251", ""])
async def test_bin1_raw_octets_with_udh(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, charset: str
) -> None:
    """The percent-decoded bytes are the octets, whatever the charset (protocols.md §1.4): the
    official libraries always send ``charset=utf-8``, and these octets are not UTF-8."""
    extra = {"charset": charset} if charset else {}
    body = await send(client, fmt, f"mes={percent(OCTETS)}", bin="1", **extra)
    assert body == sent(fmt, 1, 1, PRICES[MessageType.BIN])
    await check_binary(services, client, OCTETS, DEFAULT_PID_DCS)


async def test_bin1_ascii_octets(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    octets = bytes.fromhex("050003210201") + b"part one"  # UDH: concatenation, ref 0x21, 1 of 2
    body = await send(client, "3", f"mes={percent(octets)}", bin="1", charset="utf-8")
    assert json.loads(body) == {"id": 1, "cnt": 1, "cost": "3.00"}
    await check_binary(services, client, octets, DEFAULT_PID_DCS)


async def test_bin1_in_a_multipart_part(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """The Node library's multipart form: the part's bytes are the octets."""
    boundary = "--------------------------186045317263916504831022"
    fields = {"phones": MTS, "bin": "1", "fmt": "3", "charset": "utf-8", "login": "alice"}
    body = multipart({**fields, "psw": PASSWORD}, boundary)
    marker = f'name="phones"\r\n\r\n{MTS}\r\n'.encode()
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="mes"\r\n\r\n'.encode()
    body = body.replace(marker, marker + part + OCTETS + b"\r\n", 1)
    response = await client.post(
        "/sys/send.php",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.json() == {"id": 1, "cnt": 1}
    await check_binary(services, client, OCTETS, DEFAULT_PID_DCS)


# --- binary size and form errors ------------------------------------------------------------------


def hex_of(total: int) -> str:
    """``total`` octets of UDH + payload, as hex: the push UDH, then filler octets."""
    return UDH + "AB" * (total - len(UDH) // 2)


@pytest.mark.parametrize("fmt", FMTS)
async def test_binary_limit_is_140_octets(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    assert await send(client, fmt, mes=hex_of(BIN_LIMIT + 1), bin="2") == error(fmt, 1)
    raw = bytes.fromhex(hex_of(BIN_LIMIT + 1))
    assert await send(client, fmt, f"mes={percent(raw)}", bin="1") == error(fmt, 1)
    assert await send(client, fmt, mes="00" + "CD" * (BIN_LIMIT + 1), bin="2") == error(fmt, 1)
    assert await stored(services) == []
    assert await send(client, fmt, mes=hex_of(BIN_LIMIT), bin="2") == sent(fmt, 1, 1, Decimal(3))
    await check_binary(services, client, bytes.fromhex(hex_of(BIN_LIMIT)), DEFAULT_PID_DCS)
    # A leading 00 (no UDH) is dropped and does not count; neither does a comment.
    no_udh = "00" + "CD" * BIN_LIMIT
    assert await send(client, fmt, mes=no_udh, bin="2") == sent(fmt, 2, 1, Decimal(3))
    long_comment = f"{hex_of(BIN_LIMIT)}\n~~~\n{'c' * 300}"
    assert await send(client, fmt, mes=long_comment, bin="2") == sent(fmt, 3, 1, Decimal(3))
    rows = await stored(services)
    assert [len(bytes.fromhex(r["text"])) for r in rows] == [BIN_LIMIT] * 3


@pytest.mark.parametrize(
    "mes",
    [
        pytest.param("0605040B8423F", id="odd-length"),
        pytest.param("0605040B8423FG", id="not-hex"),
        pytest.param("0A0102", id="udh-longer-than-octets"),
        pytest.param("", id="empty"),
        pytest.param("00", id="no-octets-after-00"),  # message_text.parse_bin: "not empty"
        pytest.param(f"{UDH}{PAYLOAD}\n~~~\npid: 256", id="pid-over-255"),
    ],
)
@pytest.mark.parametrize("fmt", FMTS)
async def test_malformed_binary_is_error_1(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, mes: str
) -> None:
    assert await send(client, fmt, mes=mes, bin="2") == error(fmt, 1)
    assert await stored(services) == []


@pytest.mark.parametrize("fmt", FMTS)
async def test_bin_other_than_1_or_2_is_error_1(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    assert await send(client, fmt, mes=UDH + PAYLOAD, bin="3") == error(fmt, 1)
    assert await send(client, fmt, mes=UDH + PAYLOAD, bin="2", push="1") == error(fmt, 1)


# --- push=1 ----------------------------------------------------------------------------------------


def push(title: str, url: str = PUSH_URL, newline: str = "\n") -> str:
    return f"{url}{newline}{title}"


@pytest.mark.parametrize("fmt", FMTS)
async def test_push(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    mes = push("Скидка 20% — только сегодня, до 23:00 по Москве!")
    body = await send(client, fmt, mes=mes, push="1")
    assert body == sent(fmt, 1, 1, PRICES[MessageType.PUSH])
    row = await only_row(services)
    assert (row["msg_type"], row["parts"], row["text"]) == (MessageType.PUSH, 1, mes)
    assert row["cost"] == PRICES[MessageType.PUSH]
    report = await status_of(client, 1)
    assert (report["type"], report["flag"], report["sms_cnt"]) == (3, 3, 1)
    assert (report["cost"], report["message"]) == ("4.00", mes)


@pytest.mark.parametrize("fmt", FMTS)
async def test_push_limit_is_120_utf8_bytes(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    """URL + title, the line break not counted, in UTF-8 bytes (http-api.md §2.3)."""
    room = PUSH_LIMIT - len(PUSH_URL)  # 101 bytes of title
    fitting = [push("t" * room), push("Я" * (room // 2) + "t"), push("t" * room, newline="\r\n")]
    too_long = [push("t" * (room + 1)), push("Я" * (room // 2 + 1)), push("", PUSH_URL * 7)]
    for mes in too_long:
        assert await send(client, fmt, mes=mes, push="1") == error(fmt, 1), mes
    assert await stored(services) == []
    for n, mes in enumerate(fitting, start=1):
        assert await send(client, fmt, mes=mes, push="1") == sent(fmt, n, 1, Decimal(4)), mes
    rows = await stored(services)
    assert [(r["msg_type"], r["parts"]) for r in rows] == [(MessageType.PUSH, 1)] * 3


@pytest.mark.parametrize(
    "mes",
    [
        pytest.param("\nTitle only", id="no-url"),
        pytest.param("http://example.com/a b\nTitle", id="space-in-url"),
        pytest.param("", id="empty"),
    ],
)
@pytest.mark.parametrize("fmt", FMTS)
async def test_push_without_a_url_line_is_error_1(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str, mes: str
) -> None:
    assert await send(client, fmt, mes=mes, push="1") == error(fmt, 1)
    assert await stored(services) == []


# --- ping=1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FMTS)
async def test_ping_ignores_the_text(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    """``mes`` is ignored for ping (http-api.md §2.1): absent, empty or over 1000 characters."""
    ping = PRICES[MessageType.PING]
    assert await send(client, fmt, ping="1") == sent(fmt, 1, 1, ping)
    assert await send(client, fmt, ping="1", mes="x" * 1500) == sent(fmt, 2, 1, ping)
    assert await send(client, fmt, mes="__PING__") == sent(fmt, 3, 1, ping)
    rows = await stored(services)
    assert [(r["msg_type"], r["parts"], r["text"], r["cost"]) for r in rows] == [
        (MessageType.PING, 1, "", ping)
    ] * 3
    report = await status_of(client, 2)
    assert (report["type"], report["flag"], report["sms_cnt"]) == (5, 5, 1)
    assert (report["cost"], report["message"]) == ("0.50", "")


# --- price only -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "mes", "cost"),
    [
        pytest.param({"bin": "2"}, UDH + PAYLOAD, "3.00", id="bin"),
        pytest.param({"push": "1"}, push("Title"), "4.00", id="push"),
        pytest.param({"ping": "1"}, "", "0.50", id="ping"),
    ],
)
@pytest.mark.parametrize("fmt", FMTS)
async def test_price_only_per_type(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    fmt: str,
    flags: dict[str, str],
    mes: str,
    cost: str,
) -> None:
    """``cost=1``: one unit per recipient at the type's price, nothing stored (http-api.md §2.7)."""
    body = await send(client, fmt, **flags, mes=mes, cost="1", phones=f"{MTS},79261234567")
    price = Decimal(cost) * 2
    assert body == (
        f"{price:.2f},2" if fmt == "1" else json.dumps({"cost": f"{price:.2f}", "cnt": 2})
    )
    assert await stored(services) == []
    too_long = {"bin": "2", "mes": hex_of(BIN_LIMIT + 1)}
    assert await send(client, fmt, **too_long, cost="1") == error(fmt, 1)
