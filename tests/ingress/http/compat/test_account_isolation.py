"""Tenant isolation of the account-management endpoints: account B can neither read, change nor
delete account A's sub-clients, senders, templates or operator templates: not by id, not by name,
and not through a sub-client of another main account (http-api.md §1.2, §7–9)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.services.senders import SenderStatus
from smsgate.store.repos.accounts import AccountRecord
from tests.support.accounts import MTS, PASSWORD, balance_of, call_json, error_code


@dataclass(frozen=True)
class World:
    a: AccountRecord
    b: AccountRecord
    akid_id: int
    sender_id: int
    template_id: int


@pytest.fixture
async def world(services: Services, client: httpx.AsyncClient) -> World:
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    a = await services.accounts.create("alpha", PASSWORD, balance=Decimal("100"))
    b = await services.accounts.create("bravo", PASSWORD, balance=Decimal("100"))
    akid = await call_json(client, "users", "alpha", add="1", user="akid", password=PASSWORD)
    await call_json(client, "users", "bravo", add="1", user="bkid", password=PASSWORD)
    await call_json(client, "users", "alpha", pay="1", user="akid", sum="10")
    sender = await call_json(client, "senders", "alpha", add="1", sender="AShop", cmt="mine")
    await call_json(client, "senders", "alpha", add="1", sender=MTS)
    template = await call_json(client, "templates", "alpha", add="1", name="t", msg="A secret")
    await services.senders.set_status(a, "AShop", SenderStatus.ACTIVE)
    await call_json(
        client, "op_templates", "alpha", add="1", sender="AShop", msg="A %", mts_srv="1"
    )
    return World(a, b, int(akid["id"]), int(sender["id"]), int(template["id"]))


# --- users.php ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"chg": "1", "user": "akid", "dlim": "1"},
        {"chg": "1", "user_id": "{akid}", "password": "taken-over-1"},
        {"pay": "1", "user": "akid", "sum": "-10"},
        {"pay": "1", "user_id": "{akid}", "sum": "-10"},
        {"get_stat": "1", "user": "akid"},
        {"get_stat_all": "1", "user_id": "{akid}"},
        {"chg": "1", "user": "alpha", "password": "taken-over-1"},  # the other main account
    ],
)
async def test_users_of_another_main_account_are_not_found(
    services: Services, client: httpx.AsyncClient, world: World, params: dict[str, str]
) -> None:
    params = {k: v.format(akid=world.akid_id) for k, v in params.items()}
    body = await call_json(client, "users", "bravo", **params)
    assert body == {"error": "user not found", "error_code": 6}
    assert await balance_of(services, "akid") == Decimal(10)
    assert await balance_of(services, "bravo") == Decimal(100)
    assert error_code(await call_json(client, "balance", "akid")) is None  # password unchanged
    assert (await services.policies.get(world.akid_id)).dlim is None


async def test_lists_show_only_own_sub_clients(client: httpx.AsyncClient, world: World) -> None:
    assert [r["login"] for r in await call_json(client, "users", "bravo", get="1")] == ["bkid"]
    assert [r["login"] for r in await call_json(client, "users", "bravo", get_stat="1")] == ["bkid"]
    assert await call_json(client, "users", "bravo", get_stat_all="1") == []


async def test_a_sub_client_cannot_act_on_siblings_or_cousins(
    client: httpx.AsyncClient, world: World
) -> None:
    for target in ("bkid", "akid"):
        body = await call_json(client, "users", "akid", chg="1", user=target, dlim="1")
        assert error_code(body) == 8
        body = await call_json(client, "users", "akid", pay="1", user=target, sum="1")
        assert error_code(body) == 8


async def test_a_new_login_cannot_take_over_another_account(
    services: Services, client: httpx.AsyncClient, world: World
) -> None:
    body = await call_json(client, "users", "bravo", chg="1", user="bkid", new_login="akid")
    assert error_code(body) == 7
    assert (await services.accounts.get("akid")).parent_id == world.a.id


# --- senders.php ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"chg": "1", "id": "{sender}", "cmt": "hacked"},
        {"chg": "1", "sender": "AShop", "cmt": "hacked"},
        {"del": "1", "id": "{sender}"},
        {"del": "1", "sender": "AShop"},
        {"send_code": "1", "sender": MTS},
        {"check_code": "1", "sender": MTS, "code": "123456"},
        {"get": "1", "all": "1", "user": "akid"},
        {"add": "1", "sender": "Evil", "user": "akid"},
        {"del": "1", "sender": "AShop", "user": "alpha"},
    ],
)
async def test_senders_of_another_account_are_not_found(
    services: Services, client: httpx.AsyncClient, world: World, params: dict[str, str]
) -> None:
    params = {k: v.format(sender=world.sender_id) for k, v in params.items()}
    body = await call_json(client, "senders", "bravo", **params)
    assert body == {"error": "sender error", "error_code": 3}
    names = [(s.name, s.comment) for s in await services.senders.list(world.a)]
    assert names == [("AShop", "mine"), (MTS, "")]
    akid = await services.accounts.get("akid")
    assert await services.senders.list(akid) == []


async def test_sender_lists_and_sending_are_per_account(
    client: httpx.AsyncClient, world: World
) -> None:
    assert await call_json(client, "senders", "bravo", get="1", all="1") == []
    refused = await call_json(client, "send", "bravo", phones=MTS, mes="Hi", sender="AShop")
    assert error_code(refused) == 6
    # B may register the same name for itself; A's stays A's.
    assert "id" in await call_json(client, "senders", "bravo", add="1", sender="AShop")
    mine = await call_json(client, "senders", "bravo", get="1", all="1")
    assert [(r["sender"], r["status"]) for r in mine] == [("AShop", 0)]


async def test_fl29_reaches_only_the_own_main_accounts_senders(
    services: Services, client: httpx.AsyncClient, world: World
) -> None:
    await call_json(client, "users", "bravo", chg="1", user="bkid", **{"fl[29]": "1"})
    await call_json(client, "users", "bravo", pay="1", user="bkid", sum="5")
    refused = await call_json(client, "send", "bkid", phones=MTS, mes="Hi", sender="AShop")
    assert error_code(refused) == 6
    sender_of_other = await call_json(
        client, "users", "bravo", chg="1", user="bkid", sender="AShop"
    )
    assert error_code(sender_of_other) == 1


# --- templates.php and op_templates.php -----------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"chg": "1", "id": "{template}", "msg": "hacked"},
        {"chg": "1", "id": "{template}"},
        {"del": "1", "id": "{template}"},
    ],
)
async def test_templates_of_another_account_are_not_found(
    services: Services, client: httpx.AsyncClient, world: World, params: dict[str, str]
) -> None:
    params = {k: v.format(template=world.template_id) for k, v in params.items()}
    body = await call_json(client, "templates", "bravo", **params)
    assert body == {"error": "template not found", "error_code": 3}
    assert [t.msg for t in await services.templates.list(world.a)] == ["A secret"]


async def test_template_lists_and_tpl_are_per_account(
    services: Services, client: httpx.AsyncClient, world: World
) -> None:
    assert await call_json(client, "templates", "bravo", get="1") == []
    assert await call_json(client, "templates", "akid", get="1") == []
    body = await call_json(client, "send", "bravo", phones=MTS, tpl=str(world.template_id))
    assert body == {"error": "parameters error", "error_code": 1}
    assert await call_json(client, "op_templates", "bravo", get="1") == []
    assert await call_json(client, "op_templates", "bravo", get="1", sender="AShop") == []
    foreign = await call_json(
        client, "op_templates", "bravo", add="1", sender="AShop", msg="x", mts_srv="1"
    )
    assert error_code(foreign) == 1
