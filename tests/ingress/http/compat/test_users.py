"""users.php: every command, its layouts and error codes (http-api.md §7, codes.md §1.2)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import messages
from tests.support.accounts import (
    MEGAFON,
    MTS,
    PASSWORD,
    XML,
    balance_of,
    call,
    call_json,
    error_code,
)
from tests.support.clock import ManualClock

PRICE = Decimal("2.50")


@pytest.fixture
async def parent(services: Services) -> AccountRecord:
    await services.tariffs.set(TariffRule(price=PRICE))
    return await services.accounts.create("parent", PASSWORD, balance=Decimal("100"))


async def add_child(client: httpx.AsyncClient, login: str = "kid", **settings: str) -> int:
    body = await call_json(
        client, "users", "parent", add="1", user=login, password=PASSWORD, **settings
    )
    assert "id" in body, body
    return int(body["id"])


# --- add ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", "OK, ID - 2"),
        ("1", "2"),
        ("2", f"{XML}<result><id>2</id></result>"),
        ("3", '{"id": 2}'),
    ],
)
async def test_add_layouts(
    client: httpx.AsyncClient, parent: AccountRecord, fmt: str, expected: str
) -> None:
    response = await call(
        client, "users", "parent", add="1", user="kid", password=PASSWORD, fmt=fmt
    )
    assert response.text == expected


async def test_sub_client_logs_in_and_belongs_to_its_parent(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client, "Kid", tz="16")
    kid = await services.accounts.get("kid")
    assert kid.parent_id == parent.id
    assert kid.tz_minutes == 60
    assert (await call(client, "balance", "kid")).text == "0.00"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 1),  # no command
        ({"add": "1", "password": PASSWORD}, 1),  # no user
        ({"add": "1", "user": "kid"}, 1),  # no password
        ({"add": "1", "user": "kid", "password": "short"}, 1),
        ({"add": "1", "user": "bad login", "password": PASSWORD}, 1),
        ({"add": "1", "user": "kid", "password": PASSWORD, "type": "7"}, 1),
        ({"add": "1", "user": "kid", "password": PASSWORD, "tmlim": "25-3"}, 1),
        ({"add": "1", "user": "parent", "password": PASSWORD}, 7),
        ({"chg": "1", "user": "nobody"}, 6),
        ({"chg": "1"}, 1),
        ({"pay": "1", "user": "nobody", "sum": "1"}, 6),
        ({"get_stat": "1", "start": "32.01.2025"}, 5),
        ({"get_stat_all": "1", "end": "yesterday"}, 5),
        ({"get_stat": "1", "reseller": "2"}, 1),
    ],
)
async def test_errors(
    client: httpx.AsyncClient, parent: AccountRecord, params: dict[str, str], code: int
) -> None:
    assert error_code(await call_json(client, "users", "parent", **params)) == code


async def test_login_taken_by_an_earlier_sub_client(
    client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client)
    body = await call_json(client, "users", "parent", add="1", user="KID", password=PASSWORD)
    assert body == {"error": "login already exists", "error_code": 7}


async def test_a_sub_client_is_not_a_reseller(
    client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client)
    for params in ({"add": "1", "user": "grandkid", "password": PASSWORD}, {"get": "1"}):
        body = await call_json(client, "users", "kid", **params)
        assert body == {"error": "operation not permitted", "error_code": 8}


# --- chg ----------------------------------------------------------------------------------------


async def test_chg_stores_settings(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    kid_id = await add_child(client)
    body = await call_json(
        client,
        "users",
        "parent",
        chg="1",
        user_id=str(kid_id),
        type="1",
        tz="14",
        tariff="2",
        url="https://example.test/cb",
        dlim="10",
        tmlim="9-18",
        fmts="7,-77",
        fio="Ivan Petrov",
        **{"fl[29]": "1", "fl2[27]": "1"},
    )
    assert body == {"result": "OK"}
    kid = await services.accounts.get("kid")
    assert (kid.tz_minutes, kid.tariff_plan, kid.callback_url, kid.test_mode) == (
        -60,
        2,
        "https://example.test/cb",
        True,
    )
    policy = await services.policies.get(kid.id)
    assert (policy.share_type, policy.dlim, str(policy.tmlim), str(policy.fmts)) == (
        1,
        10,
        "9-18",
        "7,-77",
    )
    assert policy.flags == {"fl[29]", "fl2[27]"}
    listed = await call_json(client, "users", "parent", get="1")
    assert listed[0]["fio"] == "Ivan Petrov"
    assert listed[0]["type"] == 1


async def test_chg_password_login_and_block(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client)
    wrong = await call_json(
        client,
        "users",
        "parent",
        chg="1",
        user="kid",
        pswc="not-it-at-all",
        password="new-password-1",
    )
    assert error_code(wrong) == 1
    body = await call_json(
        client,
        "users",
        "parent",
        chg="1",
        user="kid",
        pswc=PASSWORD,
        password="new-password-1",
        new_login="kid2",
    )
    assert body == {"result": "OK"}
    assert (await call(client, "balance", "kid2", login_password="new-password-1")).text == "0.00"
    await call_json(client, "users", "parent", chg="1", user="kid2", **{"fl2[10]": "1"})
    blocked = await call_json(client, "balance", "kid2", login_password="new-password-1")
    assert error_code(blocked) == 2
    await add_child(client, "other")
    taken = await call_json(client, "users", "parent", chg="1", user="other", new_login="kid2")
    assert error_code(taken) == 7


async def test_default_sender_must_be_one_the_sub_client_may_use(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client)
    await services.senders.add(parent, "Parent", approve=True)
    refused = await call_json(client, "users", "parent", chg="1", user="kid", sender="Parent")
    assert error_code(refused) == 1
    body = await call_json(
        client, "users", "parent", chg="1", user="kid", sender="Parent", **{"fl[29]": "1"}
    )
    assert body == {"result": "OK"}
    assert (await services.accounts.get("kid")).default_sender == "Parent"


async def test_the_fourth_change_of_one_sub_client_within_a_minute_is_refused(
    client: httpx.AsyncClient, parent: AccountRecord, clock: ManualClock
) -> None:
    await add_child(client)  # the add counts too
    codes = [
        error_code(await call_json(client, "users", "parent", chg="1", user="kid", dlim=str(n)))
        for n in range(3)
    ]
    assert codes == [None, None, 9]
    await clock.advance(61)
    assert error_code(await call_json(client, "users", "parent", chg="1", user="kid")) is None


# --- pay ----------------------------------------------------------------------------------------


async def test_pay_moves_money_both_ways(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client)
    for fmt, expected in (("0", "OK"), ("1", "OK"), ("2", f"{XML}<result>OK</result>")):
        response = await call(client, "users", "parent", pay="1", user="kid", sum="10", fmt=fmt)
        assert response.text == expected
    assert await call_json(client, "users", "parent", pay="1", user="kid", sum="-5.5") == {
        "result": "OK"
    }
    assert await balance_of(services, "parent") == Decimal("75.5")
    assert await balance_of(services, "kid") == Decimal("24.5")


@pytest.mark.parametrize(
    ("amount", "code"), [("100.01", 3), ("-0.01", 3), ("0", 1), ("ten", 1), ("", 1)]
)
async def test_pay_refusals_change_nothing(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord, amount: str, code: int
) -> None:
    await add_child(client)
    body = await call_json(client, "users", "parent", pay="1", user="kid", sum=amount)
    assert error_code(body) == code
    if code == 3:
        assert body["error"] == "not enough money"
    assert await balance_of(services, "parent") == Decimal(100)
    assert await balance_of(services, "kid") == Decimal(0)


# --- get, get_stat, get_stat_all ------------------------------------------------------------------


async def test_get_layouts(client: httpx.AsyncClient, parent: AccountRecord) -> None:
    await add_child(client, fio="A, B")
    text = (await call(client, "users", "parent", get="1")).text
    assert text == (
        "id = 2, login = kid, type = 0, balance = 0.00, currency = RUR, blocked = 0, "
        "created = 24.11.2025 19:00:00, fio = A, B"
    )
    assert (await call(client, "users", "parent", get="1", fmt="1")).text == (
        "2,kid,0,0.00,RUR,0,24.11.2025 19:00:00,A, B"
    )
    xml = (await call(client, "users", "parent", get="1", fmt="2")).text
    assert xml == (
        f"{XML}<list><item><id>2</id><login>kid</login><type>0</type><balance>0.00</balance>"
        "<currency>RUR</currency><blocked>0</blocked><created>24.11.2025 19:00:00</created>"
        "<fio>A, B</fio></item></list>"
    )


async def test_empty_lists(client: httpx.AsyncClient, parent: AccountRecord) -> None:
    assert (await call(client, "users", "parent", get="1")).text == "\n"
    assert (await call(client, "users", "parent", get_stat="1", fmt="3")).text == "[]"
    assert (await call(client, "users", "parent", get_stat_all="1", fmt="2")).text == (
        f"{XML}<list></list>"
    )


async def test_statistics(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client)
    await add_child(client, "shared", type="2")
    await call_json(client, "users", "parent", pay="1", user="kid", sum="20")
    sent = await call_json(client, "send", "kid", phones=f"{MTS},{MEGAFON}", mes="Hi")
    assert sent["cnt"] == 2
    await call_json(client, "send", "kid", phones=MTS, mes="Hi", flash="1")
    stat = await call_json(client, "users", "parent", get_stat="1", start="24.11.2025")
    assert stat == [
        {"login": "kid", "cnt": 3, "credit": "7.50", "debit": "20.00", "currency": "RUR"},
        {"login": "shared", "cnt": 0, "credit": "0.00", "debit": "0.00", "currency": "RUR"},
    ]
    one = await call(client, "users", "parent", get_stat="1", user="kid", fmt="1")
    assert one.text == "kid,3,7.50,20.00,RUR"
    independent = await call_json(client, "users", "parent", get_stat="1", reseller="1")
    assert [r["login"] for r in independent] == ["kid"]
    on_main = await call_json(client, "users", "parent", get_stat="1", reseller="0")
    assert [r["login"] for r in on_main] == ["shared"]
    before = await call_json(client, "users", "parent", get_stat="1", end="23.11.2025")
    assert before[0]["cnt"] == 0
    daily = await call(client, "users", "parent", get_stat_all="1")
    assert daily.text == (
        "login = kid, date = 24.11.2025, type = 0, cnt = 2, credit = 5.00\n"
        "login = kid, date = 24.11.2025, type = 1, cnt = 1, credit = 2.50"
    )


# --- policies at send time ------------------------------------------------------------------------


async def send_errs(client: httpx.AsyncClient, login: str, **params: str) -> list[int]:
    body = await call_json(client, "send", login, op="1", **params)
    if "phones" not in body:
        return [-int(body["error_code"])]
    return [int(p["error"] or 0) for p in body["phones"]]


@pytest.mark.parametrize(
    ("policy", "sends", "expected"),
    [
        ({"dlim": "2"}, [{"phones": f"{MTS},{MEGAFON}"}, {"phones": MTS}], [[0, 0], [-6]]),
        (
            {"dlim": "3"},
            [{"phones": MTS}, {"phones": f"{MTS},{MEGAFON}", "mes": "x"}],
            [[0], [0, 0]],
        ),
        (
            {"plim": "1"},
            [{"phones": MTS}, {"phones": f"{MTS},{MEGAFON}", "mes": "x"}],
            [[0], [247, 0]],
        ),
        (
            {"tlim": "1"},
            [{"phones": MTS}, {"phones": MTS, "mes": "other"}, {"phones": MTS}],
            [[0], [0], [-6]],
        ),
        (
            {"ilim": "1"},
            [
                {"phones": MTS, "userip": "10.0.0.1"},
                {"phones": MEGAFON, "userip": "10.0.0.1"},
                {"phones": MEGAFON, "userip": "10.0.0.2"},
            ],
            [[0], [-6], [0]],
        ),
        ({"fmts": "7,-7916"}, [{"phones": f"{MTS},{MEGAFON}"}], [[250, 0]]),
        ({"fl[6]": "1"}, [{"phones": f"{MTS},{MEGAFON}"}, {"phones": MTS}], [[-6], [0]]),
        ({"tmlim": "9-18", "fl2[15]": "1"}, [{"phones": MTS}], [[-6]]),
        ({"tmlim": "9-21", "fl2[15]": "1"}, [{"phones": MTS}], [[0]]),
    ],
)
async def test_limits_are_enforced_when_sending(
    client: httpx.AsyncClient,
    parent: AccountRecord,
    clock: ManualClock,
    policy: dict[str, str],
    sends: list[dict[str, str]],
    expected: list[list[int]],
) -> None:
    await add_child(client, **policy)
    await call_json(client, "users", "parent", pay="1", user="kid", sum="50")
    results = []
    for params in sends:
        results.append(await send_errs(client, "kid", **{"mes": "Hello", **params}))
        await clock.advance(61)  # past the identical-send limit
    assert results == expected


async def test_rejections_by_policy_are_stored_with_their_err(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client, fmts="-7926")
    await call_json(client, "users", "parent", pay="1", user="kid", sum="50")
    body = await call_json(client, "status", "kid", phone=MEGAFON, id="7")
    assert body["status"] == -3
    await call_json(client, "send", "kid", phones=f"{MTS},{MEGAFON}", mes="Hi", id="7")
    status = await call_json(client, "status", "kid", phone=MEGAFON, id="7")
    assert (status["status"], status["err"]) == (23, 250)


async def test_outside_hours_the_message_waits_for_the_window(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord, clock: ManualClock
) -> None:
    await add_child(client, tmlim="9-18")
    await call_json(client, "users", "parent", pay="1", user="kid", sum="50")
    assert await send_errs(client, "kid", phones=MTS, mes="Hi") == [0]
    async with services.db.read() as conn:
        due_at, valid_until, created = (
            await conn.execute(
                select(messages.c.due_at, messages.c.valid_until, messages.c.created_at)
            )
        ).one()
    assert due_at == clock.now() + 14 * 3600  # 19:00 → 09:00 next day (Moscow)
    assert valid_until == due_at + 24 * 3600
    assert created == clock.now()


async def test_shared_balance_and_tariff(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("1.00"), plan=3))
    await add_child(client, "own")
    await add_child(client, "shared", type="2")
    await add_child(client, "tariffonly", type="1", tariff="3")
    await call_json(client, "users", "parent", pay="1", user="own", sum="10")
    await call_json(client, "users", "parent", pay="1", user="tariffonly", sum="10")
    own = await call_json(client, "send", "own", phones=MTS, mes="Hi", cost="3")
    assert (own["cost"], own["balance"]) == ("2.50", "7.50")
    shared = await call_json(client, "send", "shared", phones=MTS, mes="Hi", cost="3")
    assert (shared["cost"], shared["balance"]) == ("2.50", "77.50")  # the main balance
    assert await balance_of(services, "shared") == 0
    # type 1: the main account's tariff plan (0), not its own plan 3
    only = await call_json(client, "send", "tariffonly", phones=MTS, mes="Hi", cost="3")
    assert (only["cost"], only["balance"]) == ("2.50", "7.50")
    await call_json(client, "users", "parent", chg="1", user="tariffonly", type="0")
    own_plan = await call_json(client, "send", "tariffonly", phones=MTS, mes="Ho", cost="3")
    assert own_plan["cost"] == "1.00"


async def test_main_account_senders_with_fl29(
    services: Services, client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await services.senders.add(parent, "Parent", approve=True)
    await add_child(client)
    await call_json(client, "users", "parent", pay="1", user="kid", sum="10")
    refused = await call_json(client, "send", "kid", phones=MTS, mes="Hi", sender="Parent")
    assert error_code(refused) == 6
    await call_json(client, "users", "parent", chg="1", user="kid", **{"fl[29]": "1"})
    sent = await call_json(client, "send", "kid", phones=MTS, mes="Hi", sender="Parent")
    assert sent["cnt"] == 1


async def test_post_works_like_get(client: httpx.AsyncClient, parent: AccountRecord) -> None:
    response = await call(
        client, "users", "parent", method="POST", add="1", user="kid", password=PASSWORD, fmt="3"
    )
    assert json.loads(response.text) == {"id": 2}


async def test_balance_php_of_a_sub_client_on_the_main_balance_is_the_main_balance(
    client: httpx.AsyncClient, parent: AccountRecord
) -> None:
    await add_child(client, "own")
    await add_child(client, "shared", type="3")
    await call_json(client, "users", "parent", pay="1", user="own", sum="10")
    assert (await call(client, "balance", "own")).text == "10.00"
    assert (await call(client, "balance", "shared")).text == "90.00"
