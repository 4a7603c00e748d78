"""phones.php: every command, layout and error code (http-api.md §6, codes.md §1.2)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.services.container import Services
from smsgate.store.repos import accounts as account_repo
from smsgate.store.repos.accounts import AccountRecord

PASSWORD = "password-1"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
MTS, MEGAFON, BEELINE = "79161234567", "79261234567", "79031234567"
FMTS = ("0", "1", "2", "3")
START = 1_764_000_000  # ManualClock's start: 24.11.2025 19:00:00 in Moscow


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    return await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))


async def call(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    query = {"login": "alice", "psw": PASSWORD, **params}
    response = await client.get("/sys/phones.php", params=query)
    assert response.status_code == 200
    assert response.content, "official clients treat an empty body as a transport failure"
    return response


async def ok(client: httpx.AsyncClient, **params: str) -> Any:
    """The fmt 3 answer of a request that must succeed."""
    body = (await call(client, fmt="3", **params)).json()
    assert not (isinstance(body, dict) and "error_code" in body), body
    return body


async def error(client: httpx.AsyncClient, **params: str) -> int:
    body = (await call(client, fmt="3", **params)).json()
    assert isinstance(body, dict) and "error_code" in body, body
    return int(body["error_code"])


async def contacts(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    found = await ok(client, get="1", **params)
    assert isinstance(found, list)
    return found


# --- add and get: layouts ------------------------------------------------------------------------

CREATED = {
    "0": "OK, ID - 1",
    "1": "1",
    "2": f"{XML}<result><id>1</id></result>",
    "3": '{"id": 1}',
}


@pytest.mark.parametrize("command", ["add", "add_group"])
@pytest.mark.parametrize("fmt", FMTS)
async def test_created_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, command: str
) -> None:
    params = {"phone": MTS} if command == "add" else {"name": "Friends"}
    assert (await call(client, fmt=fmt, **{command: "1"}, **params)).text == CREATED[fmt]


FULL = {
    "phone": "8 (916) 123-45-67",
    "mail": "Ivan@Example.COM",
    "name": "Ivan",
    "fio": "Petrov Ivan Sergeevich Jr",
    "bd": "1.2.1990",
    "myid": "c-1",
    "pho": "79261234567",
    "tags": "vip,new",
    "cmt": "likes tea\nand cake",
}
FIELDS: list[tuple[str, Any]] = [
    ("id", 1),
    ("phone", MTS),
    ("mail", "Ivan@example.com"),
    ("name", "Ivan"),
    ("lnm", "Petrov"),
    ("fnm", "Ivan"),
    ("mnm", "Sergeevich"),
    ("bd", "01.02.1990"),
    ("myid", "c-1"),
    ("pho", "79261234567"),
    ("grp", "1;2"),
    ("tags", "vip,new"),
    ("cmt", "likes tea\nand cake"),
]
GET_TEXT = {
    "0": "id = 1, phone = 79161234567, mail = Ivan@example.com, name = Ivan, lnm = Petrov, "
    "fnm = Ivan, mnm = Sergeevich, bd = 01.02.1990, myid = c-1, pho = 79261234567, grp = 1;2, "
    "tags = vip,new, cmt = likes tea\\nand cake",
    "1": "1,79161234567,Ivan@example.com,Ivan,Petrov,Ivan,Sergeevich,01.02.1990,c-1,79261234567,"
    "1;2,vip,new,likes tea\\nand cake",
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_contact_with_every_field(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    await ok(client, add_group="1", name="A")
    await ok(client, add_group="1", name="B")
    assert await ok(client, add="1", grp="1;2", **FULL) == {"id": 1}
    body = (await call(client, get="1", fmt=fmt)).text
    if fmt == "3":
        assert [list(record.items()) for record in json.loads(body)] == [FIELDS]
    elif fmt == "2":
        item = "".join(f"<{k}>{v}</{k}>" for k, v in FIELDS)
        assert body == f"{XML}<list><item>{item}</item></list>"
    else:
        assert body == GET_TEXT[fmt]


@pytest.mark.parametrize("fmt", FMTS)
async def test_empty_lists(client: httpx.AsyncClient, alice: AccountRecord, fmt: str) -> None:
    expected = {"0": "\n", "1": "\n", "2": f"{XML}<list></list>", "3": "[]"}[fmt]
    for command in ("get", "get_group", "get_black"):
        assert (await call(client, fmt=fmt, **{command: "1"})).text == expected


async def test_post_and_windows_1251_are_equivalent(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    body = "login=alice&psw=password-1&add=1&phone=79161234567&name=%C8%E2%E0%ED&charset=cp1251"
    response = await client.post(
        "/sys/phones.php",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.text == "OK, ID - 1"
    [contact] = await contacts(client)
    assert contact["name"] == "Иван"


async def test_fio_fills_names_unless_given(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await ok(client, add="1", phone=MTS, fio="Petrov Ivan", fnm="John")
    [contact] = await contacts(client)
    assert (contact["lnm"], contact["fnm"], contact["mnm"]) == ("Petrov", "John", "")


async def test_existing_phone_is_updated_and_added_to_groups(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await ok(client, add_group="1", name="A")
    await ok(client, add_group="1", name="B")
    assert await ok(client, add="1", phone=MTS, name="Ivan", cmt="x", grp="1") == {"id": 1}
    assert await ok(client, add="1", phone="+79161234567", name="Ivan P", grp="2") == {"id": 1}
    [contact] = await contacts(client)
    assert (contact["name"], contact["cmt"], contact["grp"]) == ("Ivan P", "x", "1;2")


async def test_mail_contact_of_an_email_group(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await ok(client, add_group="1", name="News", type="1")
    assert await ok(client, add="1", mail="a@b.ru", grp="1") == {"id": 1}
    assert await ok(client, add="1", mail="a@B.RU", name="Ann") == {"id": 1}
    [contact] = await contacts(client)
    assert (contact["phone"], contact["mail"], contact["name"]) == ("", "a@b.ru", "Ann")
    [group] = await ok(client, get_group="1")
    assert (group["type"], group["cnt"]) == (1, 1)


# --- groups ----------------------------------------------------------------------------------------

GROUPS_TEXT = {
    "0": "id = 1, num = 12, type = 0, cnt = 2, name = Friends\nid = 2, num = , type = 1, cnt = 0, "
    "name = News",
    "1": "1,12,0,2,Friends\n2,,1,0,News",
    "2": f"{XML}<list><item><id>1</id><num>12</num><type>0</type><cnt>2</cnt>"
    "<name>Friends</name></item><item><id>2</id><num></num><type>1</type><cnt>0</cnt>"
    "<name>News</name></item></list>",
    "3": '[{"id": 1, "num": 12, "type": 0, "cnt": 2, "name": "Friends"}, '
    '{"id": 2, "num": "", "type": 1, "cnt": 0, "name": "News"}]',
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_get_group_layouts(client: httpx.AsyncClient, alice: AccountRecord, fmt: str) -> None:
    await ok(client, add_group="1", name="Friends", num="12")
    await ok(client, add_group="1", name="News", type="1")
    await ok(client, add="1", phone=MTS, grp="1")
    await ok(client, add="1", phone=MEGAFON, grp="1")
    assert (await call(client, get_group="1", fmt=fmt)).text == GROUPS_TEXT[fmt]


async def test_chg_group_and_del_group(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    await ok(client, add_group="1", name="Friends", num="12")
    await ok(client, add_group="1", name="Work", num="13")
    await ok(client, add="1", phone=MTS, grp="1,2")
    assert await ok(client, chg_group="1", grp="1", name="Family", num="14") == {"result": "OK"}
    assert await error(client, chg_group="1", grp="1", num="13") == 3  # taken by group 2
    assert await ok(client, chg_group="1", grp="2", num="") == {"result": "OK"}  # cleared
    groups = await ok(client, get_group="1")
    assert [(g["name"], g["num"]) for g in groups] == [("Family", 14), ("Work", "")]
    assert await ok(client, del_group="1", grp="1") == {"result": "OK"}
    [contact] = await contacts(client)  # the contact stays, out of the deleted group
    assert contact["grp"] == "2"
    assert await error(client, del_group="1", grp="1") == 3


async def test_group_num_is_unique_per_account(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await ok(client, add_group="1", name="A", num="5")
    assert await error(client, add_group="1", name="B", num="5") == 3
    assert await ok(client, add_group="1", name="B", num="6") == {"id": 2}


# --- chg, move_group, del --------------------------------------------------------------------------


async def test_chg_changes_fields_number_and_groups(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await ok(client, add_group="1", name="A")
    await ok(client, add_group="1", name="B")
    await ok(client, add="1", phone=MTS, name="Ivan", grp="1")
    await ok(client, add="1", phone=BEELINE)
    changes = {"new_phone": MEGAFON, "new_mail": "i@x.ru", "name": "Ivan P", "grp": "2"}
    assert await ok(client, chg="1", phone=MTS, **changes) == {"result": "OK"}
    found = await contacts(client, phone=MEGAFON)
    assert [(c["name"], c["mail"], c["grp"]) for c in found] == [("Ivan P", "i@x.ru", "2")]
    assert await ok(client, chg="1", mail="i@x.ru", cmt="by mail") == {"result": "OK"}
    assert (await contacts(client, phone=MEGAFON))[0]["cmt"] == "by mail"
    assert await error(client, chg="1", phone=MTS, name="gone") == 3  # no such number any more
    assert await error(client, chg="1", phone=MEGAFON, new_phone=BEELINE) == 3  # taken
    assert await error(client, chg="1", phone=MEGAFON, grp="7") == 3  # no such group


MOVES = [
    ("1", "3"),  # into group 3 only
    ("2", "1;2;3"),  # into group 3 as well
    ("3", "1;2"),  # out of group 3 (not in it: unchanged)
]


@pytest.mark.parametrize(("mode", "groups"), MOVES)
async def test_move_group(
    client: httpx.AsyncClient, alice: AccountRecord, mode: str, groups: str
) -> None:
    for name in ("A", "B", "C"):
        await ok(client, add_group="1", name=name)
    await ok(client, add="1", phone=MTS, grp="1,2")
    await ok(client, add="1", phone=MEGAFON, grp="1,2")
    assert await ok(client, move_group=mode, phone=f"{MTS},{MEGAFON}", grp="3") == {"result": "OK"}
    assert [c["grp"] for c in await contacts(client)] == [groups, groups]


async def test_move_group_errors(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    await ok(client, add_group="1", name="A")
    await ok(client, add="1", phone=MTS)
    assert await error(client, move_group="1", phone=MEGAFON, grp="1") == 3
    assert await error(client, move_group="1", phone=MTS, grp="2") == 3
    assert await error(client, move_group="4", phone=MTS, grp="1") == 1
    assert await error(client, move_group="1", phone=MTS) == 1


async def test_del_deletes_the_listed_contacts(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    for phone in (MTS, MEGAFON, BEELINE):
        await ok(client, add="1", phone=phone)
    assert await ok(client, **{"del": "1"}, phone=f"{MTS};{BEELINE};79991234567") == {
        "result": "OK"
    }
    assert [c["phone"] for c in await contacts(client)] == [MEGAFON]
    assert await error(client, **{"del": "1"}, phone=MTS) == 3


# --- get: filters and paging -----------------------------------------------------------------------


async def test_get_filters_and_pages(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    await ok(client, add_group="1", name="A")
    await ok(client, add="1", phone=MTS, name="Иван Петров", grp="1")
    await ok(client, add="1", phone=MEGAFON, cmt="Коллега")
    await ok(client, add="1", phone=BEELINE, mail="boss@corp.ru")
    await ok(client, add="1", phone="79169999999", name="50%_off")

    async def ids(**params: str) -> list[int]:
        return [c["id"] for c in await contacts(client, **params)]

    assert await ids() == [1, 2, 3, 4]
    assert await ids(grp="1") == [1]
    assert await ids(phone="7916") == [1, 4]
    assert await ids(phone="+7 926") == [2]
    assert await ids(search="ИВАН") == [1]  # case-insensitive, Cyrillic too
    assert await ids(search="коллега") == [2]
    assert await ids(search="CORP") == [3]
    assert await ids(search="1234567") == [1, 2, 3]
    assert await ids(search="%_") == [4]  # LIKE wildcards are plain characters
    assert await ids(after_id="1", cnt="2") == [2, 3]
    assert await ids(after_id="3", cnt="2") == [4]
    assert await ids(after_id="4") == []
    assert await ids(after_id="99999999999") == []  # past 32-bit contact ids, not a 500


# --- blacklist -------------------------------------------------------------------------------------

BLACK_TEXT = {
    "0": "phone = 79031234567, type = 2, date = 24.11.2025 19:00:00\n"
    "phone = 79161234567, type = 0, date = 24.11.2025 19:00:00",
    "1": "79031234567,2,24.11.2025 19:00:00\n79161234567,0,24.11.2025 19:00:00",
    "2": f"{XML}<list><item><phone>79031234567</phone><type>2</type>"
    "<date>24.11.2025 19:00:00</date></item><item><phone>79161234567</phone><type>0</type>"
    "<date>24.11.2025 19:00:00</date></item></list>",
    "3": '[{"phone": "79031234567", "type": 2, "date": "24.11.2025 19:00:00"}, '
    '{"phone": "79161234567", "type": 0, "date": "24.11.2025 19:00:00"}]',
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_blacklist_layouts(client: httpx.AsyncClient, alice: AccountRecord, fmt: str) -> None:
    assert await ok(client, add_black="1", phone=f"{MTS},8 903 123-45-67", type="1") == {
        "result": "OK"
    }
    await ok(client, add_black="1", phone=MTS)  # listed again: its type changes
    await ok(client, add_black="1", phone=BEELINE, type="2")
    assert (await call(client, get_black="1", fmt=fmt)).text == BLACK_TEXT[fmt]


async def test_del_black(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    await ok(client, add_black="1", phone=f"{MTS},{MEGAFON}")
    assert await ok(client, del_black="1", phone=MTS) == {"result": "OK"}
    assert [e["phone"] for e in await ok(client, get_black="1")] == [MEGAFON]
    assert await error(client, del_black="1", phone=MTS) == 3


# --- errors ----------------------------------------------------------------------------------------

PARAMETER_ERRORS = [
    {},  # no command
    {"add": "1", "get": "1"},  # two commands
    {"add": "1"},  # neither phone nor mail
    {"add": "1", "phone": "12345"},
    {"add": "1", "phone": f"{MTS},{MEGAFON}"},
    {"add": "1", "phone": "G1"},
    {"add": "1", "mail": "not-an-address"},
    {"add": "1", "phone": MTS, "bd": "31.02.1990"},
    {"add": "1", "phone": MTS, "bd": "1990-02-01"},
    {"add": "1", "phone": MTS, "name": "x" * 101},
    {"add": "1", "phone": MTS, "grp": "one"},
    {"add_group": "1"},  # no name
    {"add_group": "1", "name": "A", "num": "x"},
    {"add_group": "1", "name": "A", "num": "1" * 19},
    {"add_group": "1", "name": "A", "type": "2"},
    {"chg": "1", "name": "x"},
    {"chg_group": "1", "name": "x"},
    {"chg_group": "1", "grp": "1,2", "name": "x"},
    {"del": "1"},
    {"del_group": "1"},
    {"get": "1", "cnt": "1001"},
    {"get": "1", "cnt": "0"},
    {"get": "1", "after_id": "-1"},
    {"get": "1", "phone": "79x"},
    {"add_black": "1"},
    {"add_black": "1", "phone": MTS, "type": "3"},
    {"add_black": "1", "phone": "abc"},
    {"del_black": "1"},
]


@pytest.mark.parametrize("params", PARAMETER_ERRORS, ids=lambda p: "&".join(f"{k}" for k in p))
async def test_parameter_errors(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str]
) -> None:
    assert await error(client, **params) == 1


NOT_FOUND = [
    {"chg": "1", "phone": MTS, "name": "x"},
    {"chg_group": "1", "grp": "1", "name": "x"},
    {"move_group": "1", "phone": MTS, "grp": "1"},
    {"del": "1", "phone": MTS},
    {"del_group": "1", "grp": "1"},
    {"get": "1", "grp": "1"},
    {"add": "1", "phone": MTS, "grp": "1"},
    {"del_black": "1", "phone": MTS},
]


@pytest.mark.parametrize("params", NOT_FOUND, ids=lambda p: next(iter(p)))
async def test_not_found_is_error_3(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str]
) -> None:
    assert await error(client, **params) == 3


ERROR_3 = {
    "0": "ERROR = 3 (record error)",
    "1": "0,-3",
    "2": f"{XML}<result><error>record error</error><error_code>3</error_code></result>",
    "3": '{"error": "record error", "error_code": 3}',
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_3_layouts(client: httpx.AsyncClient, alice: AccountRecord, fmt: str) -> None:
    body = (await call(client, fmt=fmt, del_group="1", grp="1")).text
    assert body == ERROR_3[fmt]


async def test_add_with_a_missing_group_saves_nothing(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert await error(client, add="1", phone=MTS, grp="9") == 3
    assert await contacts(client) == []


async def test_dates_are_in_the_account_zone(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    async def op(conn: AsyncConnection) -> None:
        await account_repo.update_account(
            conn, alice.id, bump_auth=False, now=services.clock.now(), tz_minutes=120
        )

    await services.writer.submit(op)
    services.directory.forget_all()
    await ok(client, add_black="1", phone=MTS)
    assert (await ok(client, get_black="1"))[0]["date"] == "24.11.2025 21:00:00"
