"""receive_phones.php: every command, layout and error code, and isolation (http-api.md §12)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from tests.support.accounts import PASSWORD, XML, balance_of, call, call_json, error_code

# ManualClock starts on 24.11.2025 19:00 Moscow time: 7 of November's 30 days remain.
FREE, OTHER, THIRD = "79990000001", "79990000002", "79990000003"
TILL = "01.12.2025 00:00:00"


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    await services.inbound_numbers.add(FREE, Decimal("300"), "RU")
    await services.inbound_numbers.add(OTHER, Decimal("150"), "RU")
    return await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))


@pytest.fixture
async def bob(services: Services, alice: AccountRecord) -> AccountRecord:
    return await services.accounts.create("bob", PASSWORD, balance=Decimal("1000"))


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "0",
            f"phone = {FREE}, cost = 300.00, country = RU, status = 1, till = {TILL}, "
            f"noprolong = 0\nphone = {OTHER}, cost = 150.00, country = RU, status = 0, till = , "
            "noprolong = 0",
        ),
        ("1", f"{FREE},300.00,RU,1,{TILL},0\n{OTHER},150.00,RU,0,,0"),
        (
            "2",
            f"{XML}<list><item><phone>{FREE}</phone><cost>300.00</cost><country>RU</country>"
            f"<status>1</status><till>{TILL}</till><noprolong>0</noprolong></item>"
            f"<item><phone>{OTHER}</phone><cost>150.00</cost><country>RU</country>"
            "<status>0</status><till></till><noprolong>0</noprolong></item></list>",
        ),
        (
            "3",
            f'[{{"phone": "{FREE}", "cost": "300.00", "country": "RU", "status": 1, '
            f'"till": "{TILL}", "noprolong": 0}}, {{"phone": "{OTHER}", "cost": "150.00", '
            '"country": "RU", "status": 0, "till": "", "noprolong": 0}]',
        ),
    ],
)
async def test_get_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    assert (await call(client, "receive_phones", "alice", buy="1", phone=FREE)).text == "OK"
    response = await call(client, "receive_phones", "alice", get="1", fmt=fmt)
    assert response.text == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("0", "OK"), ("1", "OK"), ("2", f"{XML}<result>OK</result>"), ("3", '{"result": "OK"}')],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_buy_and_chg_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str, method: str
) -> None:
    bought = await call(
        client, "receive_phones", "alice", method=method, buy="1", phone=FREE, fmt=fmt
    )
    assert bought.text == expected
    changed = await call(
        client,
        "receive_phones",
        "alice",
        method=method,
        chg="1",
        phone=FREE,
        noprolong="1",
        fmt=fmt,
    )
    assert changed.text == expected


async def test_buy_charges_the_rest_of_the_month_pro_rata(
    client: httpx.AsyncClient, services: Services, alice: AccountRecord
) -> None:
    await call(client, "receive_phones", "alice", buy="1", phone=f"+{OTHER}", noprolong="1")
    assert await balance_of(services, "alice") == Decimal("65.00")  # 100 - 150 * 7/30
    listed = await call_json(client, "receive_phones", "alice", get="1")
    assert [(r["phone"], r["status"], r["noprolong"]) for r in listed] == [
        (FREE, 0, 0),
        (OTHER, 1, 1),
    ]
    # Buying one's own number again charges nothing; noprolong given there changes.
    await call(client, "receive_phones", "alice", buy="1", phone=OTHER, noprolong="0")
    assert await balance_of(services, "alice") == Decimal("65.00")
    listed = await call_json(client, "receive_phones", "alice", get="1")
    assert listed[1]["noprolong"] == 0


async def test_credit_limit_counts_and_error_3_changes_nothing(
    client: httpx.AsyncClient, services: Services, alice: AccountRecord
) -> None:
    # 300 * 7/30 = 70 would fit; a second number at 35 more does not (balance 30).
    await call(client, "receive_phones", "alice", buy="1", phone=FREE)
    await services.inbound_numbers.add(THIRD, Decimal("200"), "RU")  # 46.6667 for the rest
    body = await call_json(client, "receive_phones", "alice", buy="1", phone=THIRD)
    assert body == {"error": "not enough money", "error_code": 3}
    assert await balance_of(services, "alice") == Decimal("30.00")
    listed = await call_json(client, "receive_phones", "alice", get="1")
    assert [r["status"] for r in listed] == [1, 0, 0]
    await services.accounts.change("alice", AccountChanges(credit_limit=Decimal("20")))
    assert await call_json(client, "receive_phones", "alice", buy="1", phone=THIRD) == {
        "result": "OK"
    }
    assert await balance_of(services, "alice") == Decimal("-16.6667")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 1),
        ({"get": "0"}, 1),
        ({"buy": "1"}, 1),
        ({"buy": "1", "phone": "abc"}, 1),
        ({"buy": "1", "phone": FREE, "noprolong": "2"}, 1),
        ({"chg": "1", "phone": FREE}, 1),
        ({"chg": "1", "phone": FREE, "noprolong": "x"}, 1),
        ({"buy": "1", "phone": "79990000999"}, 5),  # not offered
        ({"chg": "1", "phone": FREE, "noprolong": "1"}, 5),  # not rented by the caller
        ({"chg": "1", "phone": "79990000999", "noprolong": "0"}, 5),
    ],
)
async def test_errors(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str], code: int
) -> None:
    body = await call_json(client, "receive_phones", "alice", **params)
    assert error_code(body) == code, body


async def test_error_5_description(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    response = await call(client, "receive_phones", "alice", buy="1", phone="79990000999")
    assert response.text == "ERROR = 5 (number not available)"


async def test_error_2_and_lockout_4(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    for _ in range(5):
        wrong = await call(client, "receive_phones", "alice", login_password="wrong", get="1")
        assert wrong.text == "ERROR = 2 (authorise error)"
    locked = await call(client, "receive_phones", "alice", get="1")
    assert locked.text == "ERROR = 4 (IP is temporarily blocked)"


async def test_bad_fmt_is_error_1(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    response = await call(client, "receive_phones", "alice", get="1", fmt="7")
    assert response.text == "ERROR = 1 (parameters error)"


async def test_b_cannot_see_or_change_a_number(
    client: httpx.AsyncClient, services: Services, alice: AccountRecord, bob: AccountRecord
) -> None:
    await call(client, "receive_phones", "alice", buy="1", phone=FREE)
    seen_by_bob = await call_json(client, "receive_phones", "bob", get="1")
    assert [r["phone"] for r in seen_by_bob] == [OTHER]
    for params in (
        {"buy": "1", "phone": FREE},
        {"chg": "1", "phone": FREE, "noprolong": "1"},
    ):
        assert error_code(await call_json(client, "receive_phones", "bob", **params)) == 5
    assert await balance_of(services, "bob") == Decimal("1000")
    mine = await call_json(client, "receive_phones", "alice", get="1")
    assert (mine[0]["phone"], mine[0]["status"], mine[0]["noprolong"]) == (FREE, 1, 0)


async def test_two_buyers_of_one_number_one_wins(
    make_client: object, services: Services, alice: AccountRecord, bob: AccountRecord
) -> None:
    assert callable(make_client)
    one, two = make_client(), make_client()
    answers = await asyncio.gather(
        call_json(one, "receive_phones", "alice", buy="1", phone=FREE),
        call_json(two, "receive_phones", "bob", buy="1", phone=FREE),
    )
    assert sorted(str(a) for a in answers) == sorted(
        [str({"result": "OK"}), str({"error": "number not available", "error_code": 5})]
    )
    spent = (Decimal("100") - await balance_of(services, "alice")) + (
        Decimal("1000") - await balance_of(services, "bob")
    )
    assert spent == Decimal("70.00")


async def test_sub_client_on_the_main_balance_pays_from_it(
    client: httpx.AsyncClient, services: Services, alice: AccountRecord
) -> None:
    created = await call_json(
        client, "users", "alice", add="1", user="kid", password="kid-password-1", type="2"
    )
    assert "id" in created, created
    body = await call_json(
        client, "receive_phones", "kid", login_password="kid-password-1", buy="1", phone=FREE
    )
    assert body == {"result": "OK"}
    assert await balance_of(services, "alice") == Decimal("30.00")
    # The number is the sub-client's: its main account does not see it.
    assert [r["phone"] for r in await call_json(client, "receive_phones", "alice", get="1")] == [
        OTHER
    ]
