"""senders.php: every command, layouts, error codes and confirmation by code (http-api.md §8)."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from smsgate.domain.pricing import TariffRule
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.services.senders import SenderStatus
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import messages
from tests.support.accounts import MTS, PASSWORD, XML, call, call_json, error_code
from tests.support.clock import ManualClock


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    await services.tariffs.set(TariffRule(price=Decimal("2.50")))
    return await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))


async def add(client: httpx.AsyncClient, sender: str, **params: str) -> int:
    body = await call_json(client, "senders", "alice", add="1", sender=sender, **params)
    assert "id" in body, body
    return int(body["id"])


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", "OK, ID - 1"),
        ("1", "1"),
        ("2", f"{XML}<result><id>1</id></result>"),
        ("3", '{"id": 1}'),
    ],
)
async def test_add_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    response = await call(client, "senders", "alice", add="1", sender="Shop", fmt=fmt)
    assert response.text == expected


@pytest.mark.parametrize(
    ("sender", "kind", "status"),
    [
        ("Shop", 0, SenderStatus.PENDING),
        ("ABCDEFGHIJK", 0, SenderStatus.PENDING),
        ("79161234567", 1, SenderStatus.AWAITING_CODE),
        ("123456789012345", 1, SenderStatus.AWAITING_CODE),
        ("news@shop.example", 2, SenderStatus.AWAITING_CODE),
    ],
)
async def test_kinds_and_first_status(
    client: httpx.AsyncClient, alice: AccountRecord, sender: str, kind: int, status: int
) -> None:
    await add(client, sender)
    listed = await call_json(client, "senders", "alice", get="1", all="1")
    assert [(r["sender"], r["type"], r["status"]) for r in listed] == [(sender, kind, int(status))]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 1),
        ({"add": "1"}, 1),
        ({"add": "1", "sender": "ABCDEFGHIJKL"}, 1),  # 12 characters
        ({"add": "1", "sender": "1234567890123456"}, 1),  # 16 digits
        ({"add": "1", "sender": "Bad!Name"}, 1),
        ({"chg": "1", "sender": "Nope", "cmt": "x"}, 3),
        ({"del": "1", "id": "99"}, 3),
        ({"send_code": "1", "sender": "Nope"}, 3),
        ({"check_code": "1", "sender": "Nope", "code": "1"}, 3),
        ({"get": "1", "from_date": "2025-01-01"}, 5),
        ({"get": "1", "cnt": "0"}, 1),
    ],
)
async def test_errors(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str], code: int
) -> None:
    assert error_code(await call_json(client, "senders", "alice", **params)) == code


async def test_duplicate_is_error_3(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    await add(client, "Shop")
    body = await call_json(client, "senders", "alice", add="1", sender="Shop")
    assert body == {"error": "sender error", "error_code": 3}


async def test_get_lists_active_by_default_and_everything_with_all(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    await add(client, "Shop", cmt="our shop")
    await services.senders.set_status(alice, "Shop", SenderStatus.ACTIVE)
    await clock.advance(86400)
    await add(client, "Pending")
    assert (await call(client, "senders", "alice", get="1")).text == (
        "id = 1, sender = Shop, type = 0, status = 1, created = 24.11.2025 19:00:00, cmt = our shop"
    )
    assert (await call(client, "senders", "alice", get="1", all="1", fmt="1")).text == (
        "1,Shop,0,1,24.11.2025 19:00:00,our shop\n2,Pending,0,0,25.11.2025 19:00:00,"
    )
    xml = (
        await call(client, "senders", "alice", get="1", all="1", from_date="25.11.2025", fmt="2")
    ).text
    assert xml == (
        f"{XML}<list><item><id>2</id><sender>Pending</sender><type>0</type><status>0</status>"
        "<created>25.11.2025 19:00:00</created><cmt></cmt></item></list>"
    )
    paged = await call_json(client, "senders", "alice", get="1", all="1", prev_id="1", cnt="5")
    assert [r["id"] for r in paged] == [2]
    first = await call_json(client, "senders", "alice", get="1", all="1", cnt="1")
    assert [r["id"] for r in first] == [1]


async def test_get_limit(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    codes = [error_code(await call_json(client, "senders", "alice", get="1")) for _ in range(4)]
    assert codes == [None, None, None, 9]


async def test_chg_and_del(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    sender_id = await add(client, "Shop")
    assert (
        await call(client, "senders", "alice", chg="1", id=str(sender_id), cmt="new")
    ).text == "OK"
    assert (await services.senders.list(alice))[0].comment == "new"
    await services.senders.set_status(alice, "Shop", SenderStatus.ACTIVE)
    await services.accounts.change("alice", AccountChanges(default_sender="Shop"))
    assert (await call(client, "senders", "alice", **{"del": "1", "sender": "Shop"})).text == "OK"
    assert await services.senders.list(alice) == []
    assert (await services.accounts.get("alice")).default_sender is None
    sent = await call_json(client, "send", "alice", phones=MTS, mes="Hi", sender="Shop")
    assert error_code(sent) == 6


async def code_sent(services: Services, phone: str) -> str:
    async with services.db.read() as conn:
        texts = (
            (await conn.execute(select(messages.c.text).where(messages.c.phone == phone)))
            .scalars()
            .all()
        )
    match = re.search(r"(\d{6})$", texts[-1])
    assert match, texts
    return match[1]


async def test_digital_sender_is_confirmed_by_the_code_sent_to_it(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await add(client, MTS)
    assert (
        error_code(await call_json(client, "send", "alice", phones=MTS, mes="x", sender=MTS)) == 6
    )
    assert (await call(client, "senders", "alice", send_code="1", sender=MTS)).text == "OK"
    code = await code_sent(services, MTS)
    wrong = "000000" if code != "000000" else "111111"
    assert await call_json(client, "senders", "alice", check_code="1", sender=MTS, code=wrong) == {
        "error": "invalid code",
        "error_code": 5,
    }
    ok = await call_json(client, "senders", "alice", check_code="1", sender=MTS, code=code)
    assert ok == {"result": "OK"}
    assert (await services.senders.list(alice))[0].status == SenderStatus.ACTIVE
    sent = await call_json(client, "send", "alice", phones=MTS, mes="Hello", sender=MTS)
    assert sent["cnt"] == 1
    again = await call_json(client, "senders", "alice", check_code="1", sender=MTS, code=code)
    assert error_code(again) == 5  # used up


async def test_code_expires_and_guesses_are_limited(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    await add(client, MTS)
    await call(client, "senders", "alice", send_code="1", sender=MTS)
    code = await code_sent(services, MTS)
    await clock.advance(3601)
    expired = await call_json(client, "senders", "alice", check_code="1", sender=MTS, code=code)
    assert error_code(expired) == 5
    await call(client, "senders", "alice", send_code="1", sender=MTS, cmt="again")
    code = await code_sent(services, MTS)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        await call_json(
            client, "senders", "alice", check_code="1", sender=MTS, code=wrong, n=str(_)
        )
    late = await call_json(client, "senders", "alice", check_code="1", sender=MTS, code=code)
    assert error_code(late) == 5


async def test_send_code_only_for_senders_awaiting_one(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await add(client, "Shop")
    assert (
        error_code(await call_json(client, "senders", "alice", send_code="1", sender="Shop")) == 3
    )


async def test_a_reseller_manages_its_sub_clients_senders(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await call_json(client, "users", "alice", add="1", user="kid", password=PASSWORD)
    await add(client, "KidShop", user="kid")
    kid = await services.accounts.get("kid")
    assert [s.name for s in await services.senders.list(kid)] == ["KidShop"]
    assert await services.senders.list(alice) == []
    listed = await call_json(client, "senders", "alice", get="1", all="1", user="kid")
    assert [r["sender"] for r in listed] == ["KidShop"]
