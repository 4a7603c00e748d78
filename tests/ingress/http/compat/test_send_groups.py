"""send.php with contact groups (``G<n>``) and the blacklist (http-api.md §1.6, §2.2, §2.5, §6)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import RowMapping, select

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import accounts, messages

PASSWORD = "password-1"
PRICE = Decimal("2.50")
MTS, MEGAFON, BEELINE = "79161234567", "79261234567", "79031234567"


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=PRICE))
    return account


async def phones(client: httpx.AsyncClient, **params: str) -> Any:
    query = {"login": "alice", "psw": PASSWORD, "fmt": "3", **params}
    body = (await client.get("/sys/phones.php", params=query)).json()
    assert not (isinstance(body, dict) and "error_code" in body), body
    return body


async def send(client: httpx.AsyncClient, **params: str) -> str:
    query = {"login": "alice", "psw": PASSWORD, "mes": "Hello", "fmt": "3", **params}
    response = await client.get("/sys/send.php", params=query)
    assert response.status_code == 200
    return response.text


async def stored(services: Services) -> Sequence[RowMapping]:
    async with services.db.read() as conn:
        return (await conn.execute(select(messages).order_by(messages.c.id))).mappings().all()


async def outcomes(services: Services) -> list[tuple[str, int, int, Decimal]]:
    return [(r["phone"], r["status"], r["err"], r["cost"]) for r in await stored(services)]


async def balance(services: Services) -> Decimal:
    async with services.db.read() as conn:
        query = select(accounts.c.balance).where(accounts.c.login == "alice")
        return Decimal((await conn.execute(query)).scalar_one())


async def group(client: httpx.AsyncClient, members: Sequence[str], **params: str) -> int:
    created = await phones(client, add_group="1", name="G", **params)
    for member in members:
        key = "mail" if "@" in member else "phone"
        await phones(client, add="1", grp=str(created["id"]), **{key: member})
    return int(created["id"])


WAITING, PROHIBITED, BLACKLISTED = -1, 23, 250


async def test_group_reaches_every_member_but_the_blacklisted_once(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, [MTS, MEGAFON, BEELINE], num="12")
    await phones(client, add_black="1", phone=BEELINE)
    body = await send(client, phones=f"G12,{MTS},g12", op="1")
    assert body.startswith('{"id": 1, "cnt": 2, "phones": [')
    assert await outcomes(services) == [
        (MTS, WAITING, 0, PRICE),
        (MEGAFON, WAITING, 0, PRICE),
        (BEELINE, PROHIBITED, BLACKLISTED, Decimal(0)),
    ]
    assert await balance(services) == Decimal(95)


async def test_explicit_numbers_come_first_and_are_not_repeated(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, [MTS, MEGAFON], num="3")
    assert await send(client, phones=f"{MEGAFON},G3") == '{"id": 1, "cnt": 2}'
    assert [row["phone"] for row in await stored(services)] == [MEGAFON, MTS]


async def test_group_by_id_when_no_num_matches(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, [MTS])  # id 1, no num
    await group(client, [MEGAFON], num="1000")  # id 2
    await group(client, [BEELINE], num="1")  # id 3, num 1: G1 is this one
    assert await send(client, phones="G2") == '{"id": 1, "cnt": 1}'
    assert await send(client, phones="G1", id="2") == '{"id": 2, "cnt": 1}'
    assert [row["phone"] for row in await stored(services)] == [MEGAFON, BEELINE]


@pytest.mark.parametrize(
    ("kind", "mass", "refused"),
    [
        ("0", False, True),
        ("0", True, True),
        ("1", False, False),
        ("1", True, True),
        ("2", False, True),
        ("2", True, False),
    ],
)
async def test_blacklist_kinds(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    kind: str,
    mass: bool,
    refused: bool,
) -> None:
    """Type 0 refuses every message, 1 mass mailings (more than one recipient), 2 single ones."""
    await phones(client, add_black="1", phone=MTS, type=kind)
    recipients = f"{MTS},{MEGAFON}" if mass else MTS
    body = await send(client, phones=recipients)
    if refused and not mass:  # the only recipient refused: error 6 with the request id
        assert body == '{"error": "message is forbidden", "error_code": 6, "id": 1}'
        assert await stored(services) == []
        return
    expected = (MTS, PROHIBITED, BLACKLISTED, Decimal(0)) if refused else (MTS, WAITING, 0, PRICE)
    assert (await outcomes(services))[0] == expected


async def test_blacklist_applies_at_once_and_ends_with_del_black(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert await send(client, phones=MTS, id="1") == '{"id": 1, "cnt": 1}'
    await phones(client, add_black="1", phone=MTS)
    assert await send(client, phones=MTS, id="2", fmt="1") == "2,-6"
    await phones(client, del_black="1", phone=MTS)
    assert await send(client, phones=MTS, id="3") == '{"id": 3, "cnt": 1}'


async def test_price_only_leaves_out_the_blacklisted(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, [MTS, MEGAFON], num="7")
    await phones(client, add_black="1", phone=MEGAFON)
    assert await send(client, phones="G7", cost="1", err="1") == (
        '{"cost": "2.50", "cnt": 1, "phones": [{"phone": "79261234567", "mccmnc": "25002", '
        '"cost": "0.00", "status": "23", "error": "250"}]}'
    )
    assert await stored(services) == []


async def test_unknown_group_is_error_1(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, [MTS], num="5")
    body = await send(client, phones=f"{MEGAFON},G6")
    assert body == '{"error": "parameters error", "error_code": 1}'
    await phones(client, del_group="1", grp="1")
    assert await send(client, phones="G5") == '{"error": "parameters error", "error_code": 1}'
    assert await stored(services) == []


async def test_empty_group_is_no_valid_recipient(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, [], num="5")
    body = await send(client, phones="G5")
    assert body == '{"error": "invalid phone number", "error_code": 7, "id": 1}'
    assert await send(client, phones="G5", cost="1", fmt="1") == "0,-7"


async def test_mail_group_sends_to_the_addresses(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, ["a@x.ru", "b@x.ru"], num="9", type="1")
    await phones(client, add="1", phone=MTS, mail="c@x.ru", grp="1")
    body = await send(client, phones="G9,a@x.ru", mail="1", subj="News", sender="")
    assert body == '{"id": 1, "cnt": 3}'
    assert [row["phone"] for row in await stored(services)] == ["a@x.ru", "b@x.ru", "c@x.ru"]


async def test_list_lines_may_name_groups(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await group(client, [MTS, MEGAFON], num="4")
    listing = f"G4:Hi group\n{MTS}:Hi again\n{BEELINE}:Hi you"
    assert await send(client, list=listing) == '{"id": 1, "cnt": 3}'
    texts = [(row["phone"], row["text"]) for row in await stored(services)]
    assert texts == [(MTS, "Hi group"), (MEGAFON, "Hi group"), (BEELINE, "Hi you")]
