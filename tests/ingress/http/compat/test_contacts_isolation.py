"""Tenant isolation of phones.php, send.php groups, get.php and info.php, and the shared guards
on those endpoints (http-api.md §1, §6, §10, §11).

Bob knows the ids, numbers and group numbers of Alice's records; every attempt to read, change or
delete them is answered exactly as for a record that does not exist, and Alice's records are the
same afterwards.
"""

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
from smsgate.store.repos import guards as guard_repo
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.messages import NewMessage
from tests.conftest import ClientFactory
from tests.support.clock import ManualClock

PASSWORD = "password-1"
MTS, MEGAFON, BEELINE = "79161234567", "79261234567", "79031234567"
START = 1_764_000_000
ALICE_GROUP, BOB_GROUP = "1", "2"
ALICE_CONTACT_MAIL = "ivan@alice.ru"

MESSAGE = NewMessage(
    account_id=0,
    client_id="7",
    phone=MTS,
    msg_type=MessageType.SMS,
    sender=None,
    text="secret",
    comment=None,
    status=1,
    err=0,
    parts=1,
    cost=Decimal("2.5"),
    encoding=0,
    country="RU",
    operator="МТС",
    operator_orig="МТС",
    region=None,
    mccmnc="25001",
    test=False,
    options=None,
    created_at=START - 60,
    updated_at=START - 60,
    due_at=START - 60,
    valid_until=START,
)


async def call(client: httpx.AsyncClient, path: str, login: str = "bob", **params: str) -> Any:
    query = {"login": login, "psw": PASSWORD, "fmt": "3", **params}
    response = await client.get(f"/sys/{path}.php", params=query)
    assert response.status_code == 200
    return json.loads(response.text)


@pytest.fixture
async def accounts(services: Services, client: httpx.AsyncClient) -> tuple[int, int]:
    alice = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    bob = await services.accounts.create("bob", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("2.50")))
    # Alice: group 1 (num 12) with contact 1, a blacklisted number, a message and an answer.
    assert await call(client, "phones", "alice", add_group="1", name="VIP", num="12") == {"id": 1}
    added = await call(
        client, "phones", "alice", add="1", phone=MTS, mail=ALICE_CONTACT_MAIL, grp="1"
    )
    assert added == {"id": 1}
    await call(client, "phones", "alice", add_black="1", phone=MEGAFON)

    async def op(conn: AsyncConnection) -> list[int]:
        return await message_repo.insert_many(conn, [replace(MESSAGE, account_id=alice.id)])

    [message_id] = await services.writer.submit(op)
    await services.incoming.record(alice.id, MTS, "79990000001", "yes", message_id=message_id)
    # Bob: group 2 and contact 2. His answer names Alice's message, which he must not see.
    assert await call(client, "phones", add_group="1", name="Mine", num="13") == {"id": 2}
    assert await call(client, "phones", add="1", phone=BEELINE, grp=BOB_GROUP) == {"id": 2}
    await services.incoming.record(bob.id, BEELINE, "79990000001", "hi", message_id=message_id)
    return alice.id, bob.id


async def alice_state(client: httpx.AsyncClient) -> list[Any]:
    return [
        await call(client, "phones", "alice", get="1"),
        await call(client, "phones", "alice", get_group="1"),
        await call(client, "phones", "alice", get_black="1"),
        await call(client, "get", "alice", get_messages="1", start="24.11.2025"),
        await call(client, "get", "alice", get_answers="1"),
    ]


NOT_FOUND = {"error": "record error", "error_code": 3}
REFUSED_BY_BOB: list[tuple[str, dict[str, str], Any]] = [
    ("phones", {"get": "1", "grp": ALICE_GROUP}, NOT_FOUND),
    ("phones", {"chg": "1", "phone": MTS, "name": "pwned"}, NOT_FOUND),
    ("phones", {"chg": "1", "mail": ALICE_CONTACT_MAIL, "name": "pwned"}, NOT_FOUND),
    ("phones", {"chg": "1", "phone": BEELINE, "grp": ALICE_GROUP}, NOT_FOUND),
    ("phones", {"chg_group": "1", "grp": ALICE_GROUP, "name": "pwned"}, NOT_FOUND),
    ("phones", {"chg_group": "1", "grp": BOB_GROUP, "num": "12"}, {"result": "OK"}),
    ("phones", {"move_group": "2", "phone": BEELINE, "grp": ALICE_GROUP}, NOT_FOUND),
    ("phones", {"move_group": "1", "phone": MTS, "grp": BOB_GROUP}, NOT_FOUND),
    ("phones", {"move_group": "3", "mail": ALICE_CONTACT_MAIL, "grp": "1"}, NOT_FOUND),
    ("phones", {"del": "1", "phone": MTS}, NOT_FOUND),
    ("phones", {"del": "1", "mail": ALICE_CONTACT_MAIL}, NOT_FOUND),
    ("phones", {"del_group": "1", "grp": ALICE_GROUP}, NOT_FOUND),
    ("phones", {"add": "1", "phone": BEELINE, "grp": ALICE_GROUP}, NOT_FOUND),
    ("phones", {"del_black": "1", "phone": MEGAFON}, NOT_FOUND),
    ("phones", {"get": "1"}, None),  # checked below: only Bob's contact
    ("phones", {"get_group": "1"}, None),
    ("phones", {"get_black": "1"}, []),
    ("phones", {"add_group": "1", "name": "Same num", "num": "12"}, {"id": 3}),
    ("phones", {"add": "1", "phone": MTS, "name": "Bob's own"}, {"id": 3}),
    ("send", {"phones": "G1", "mes": "x"}, {"error": "parameters error", "error_code": 1}),
    (
        "send",
        {"phones": f"G12,{BEELINE}", "mes": "x"},
        {"error": "parameters error", "error_code": 1},
    ),
    ("send", {"phones": MEGAFON, "mes": "x"}, {"id": 1, "cnt": 1}),  # Alice's blacklist
    ("get", {"get_messages": "1", "start": "24.11.2025"}, []),
    ("get", {"get_messages": "1", "start": "24.11.2025", "phone": MTS, "prev_id": "9"}, []),
    (
        "get",
        {"get_stat": "1"},
        [{"login": "bob", "cnt": 0, "credit": "0.00", "debit": "0.00", "currency": "RUR"}],
    ),  # fmt: skip
    ("status", {"id": "7", "phone": MTS}, None),
]


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    REFUSED_BY_BOB,
    ids=[f"{p}:{'&'.join(f'{k}={v}' for k, v in q.items())}" for p, q, _ in REFUSED_BY_BOB],
)
async def test_bob_cannot_touch_alices_records(
    client: httpx.AsyncClient,
    accounts: tuple[int, int],
    path: str,
    params: dict[str, str],
    expected: Any,
) -> None:
    before = await alice_state(client)
    body = await call(client, path, **params)
    if expected is not None:
        assert body == expected
    elif path == "phones" and "get" in params:
        assert [c["phone"] for c in body] == [BEELINE]
    elif path == "phones":
        assert [g["name"] for g in body] == ["Mine"]
    else:
        assert body["status"] == -3
    assert await alice_state(client) == before


async def test_bob_sees_only_his_answers_and_not_alices_message(
    client: httpx.AsyncClient, accounts: tuple[int, int]
) -> None:
    answers = await call(client, "get", get_answers="1")
    assert [(a["phone"], a["message"], a["sent"]) for a in answers] == [(BEELINE, "hi", "")]
    [alices] = await call(client, "get", "alice", get_answers="1")
    assert alices["sent"] == "24.11.2025 18:59:00"


async def test_group_numbers_are_per_account(
    services: Services, client: httpx.AsyncClient, accounts: tuple[int, int]
) -> None:
    """Alice and Bob may both have a G12; each reaches only their own members."""
    await call(client, "phones", chg_group="1", grp=BOB_GROUP, num="12")
    assert await call(client, "send", phones="G12", mes="x") == {"id": 1, "cnt": 1}
    assert await call(client, "send", "alice", phones="G12", mes="x") == {"id": 1, "cnt": 1}
    async with services.db.read() as conn:
        stored = await message_repo.find_latest(conn, accounts[1], [("1", BEELINE)])
    assert list(stored) == [("1", BEELINE)]


# --- the shared guards on these endpoints ---------------------------------------------------------

ENDPOINTS = [
    ("phones", {"get": "1"}),
    ("get", {"get_stat": "1"}),
    ("info", {"get_operator": "1", "phone": MTS}),
]


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
async def test_guards(
    services: Services,
    make_client: ClientFactory,
    clock: ManualClock,
    accounts: tuple[int, int],
    path: str,
    params: dict[str, str],
) -> None:
    client = make_client("203.0.113.5")
    assert "error" not in json.dumps(await call(client, path, **params))
    # 2: wrong password, or an API key that is not one
    wrong = await client.get(
        f"/sys/{path}.php", params={"login": "bob", "psw": "nope", "fmt": "3", **params}
    )
    assert wrong.json()["error_code"] == 2
    keyed = await client.get(f"/sys/{path}.php", params={"apikey": "sg_x", "fmt": "3", **params})
    assert keyed.json()["error_code"] == 2
    # 1: an invalid fmt, in fmt 0
    bad = await client.get(f"/sys/{path}.php", params={"login": "bob", "psw": PASSWORD, "fmt": "9"})
    assert bad.text == "ERROR = 1 (parameters error)"

    # 9: fifteen requests of the login in progress
    async def publish(conn: AsyncConnection) -> None:
        await guard_repo.publish_inflight(conn, "node-a", {"bob": 14}, clock.now())

    await services.writer.submit(publish)
    await clock.advance(services.settings.limits.concurrent_publish)  # other nodes' counts re-read
    assert (await call(client, path, **params))["error_code"] == 9
    await clock.advance(services.settings.limits.concurrent_stale + 1)
    # 4: the IP is blocked after five failed logins, on every endpoint
    for _ in range(3):
        await client.get(f"/sys/{path}.php", params={"login": "bob", "psw": "nope"})
    assert (await call(client, path, **params))["error_code"] == 4
