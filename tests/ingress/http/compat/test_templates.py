"""templates.php, op_templates.php, ``tpl`` on send.php, the auto-signature and err 238
(http-api.md §9)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from smsgate.domain.pricing import TariffRule
from smsgate.domain.templates import OpTemplateStatus
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import messages
from tests.support.accounts import BEELINE, MTS, PASSWORD, XML, call, call_json, error_code
from tests.support.clock import ManualClock


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    await services.tariffs.set(TariffRule(price=Decimal("2.50")))
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.senders.add(account, "Shop", approve=True)
    return account


async def add(client: httpx.AsyncClient, **params: str) -> int:
    body = await call_json(client, "templates", "alice", add="1", **params)
    assert "id" in body, body
    return int(body["id"])


async def texts(services: Services) -> list[tuple[str, int, str | None]]:
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(messages.c.text, messages.c.msg_type, messages.c.sender).order_by(messages.c.id)
        )
        return [(t, int(m), s) for t, m, s in rows]


# --- templates.php ------------------------------------------------------------------------------


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
    response = await call(client, "templates", "alice", add="1", name="t", msg="Hi", fmt=fmt)
    assert response.text == expected


async def test_get_chg_del(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    first = await add(client, name="Code", msg="Your code", format="sms", sender="Shop")
    await add(client, name="Sig", msg="-- Shop", **{"fl[1]": "1"})
    assert (await call(client, "templates", "alice", get="1")).text == (
        "id = 1, name = Code, format = sms, sender = Shop, autosign = 0, msg = Your code\n"
        "id = 2, name = Sig, format = , sender = , autosign = 1, msg = -- Shop"
    )
    assert (await call(client, "templates", "alice", get="1", fmt="1")).text == (
        "1,Code,sms,Shop,0,Your code\n2,Sig,,,1,-- Shop"
    )
    changed = await call(
        client, "templates", "alice", chg="1", id=str(first), msg="New", **{"fl[1]": "1"}
    )
    assert changed.text == "OK"
    listed = await call_json(client, "templates", "alice", get="1")
    assert [(t["msg"], t["autosign"]) for t in listed] == [("New", 1), ("-- Shop", 0)]
    assert (await call(client, "templates", "alice", **{"del": "1", "id": "2"}, fmt="2")).text == (
        f"{XML}<result>OK</result>"
    )
    assert [t["id"] for t in await call_json(client, "templates", "alice", get="1")] == [1]


@pytest.mark.parametrize(
    ("params", "code", "description"),
    [
        ({}, 1, "parameters error"),
        ({"add": "1", "name": "t"}, 1, "parameters error"),
        ({"add": "1", "msg": "m"}, 1, "parameters error"),
        ({"add": "1", "name": "t", "msg": "m", "format": "fax"}, 1, "parameters error"),
        ({"add": "1", "name": "t", "msg": "m", "fl[1]": "2"}, 1, "parameters error"),
        ({"add": "1", "name": "t" * 101, "msg": "m"}, 1, "parameters error"),
        ({"chg": "1"}, 1, "parameters error"),
        ({"chg": "1", "id": "x"}, 1, "parameters error"),
        ({"chg": "1", "id": "9", "msg": "m"}, 3, "template not found"),
        ({"chg": "1", "id": "9"}, 3, "template not found"),
        ({"del": "1", "id": "9"}, 3, "template not found"),
    ],
)
async def test_errors(
    client: httpx.AsyncClient,
    alice: AccountRecord,
    params: dict[str, str],
    code: int,
    description: str,
) -> None:
    body = await call_json(client, "templates", "alice", **params)
    assert body == {"error": description, "error_code": code}


# --- tpl on send.php and the auto-signature -------------------------------------------------------


async def test_send_with_tpl(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    plain = await add(client, name="Hello", msg="Hello from a template", sender="Shop")
    flash = await add(client, name="Flash", msg="Flash text", format="flash")
    assert (await call_json(client, "send", "alice", phones=MTS, tpl=str(plain)))["cnt"] == 1
    await call_json(client, "send", "alice", phones=MTS, tpl=str(flash), sender="")
    await call_json(
        client, "send", "alice", phones=MTS, tpl=str(flash), push="0", mes="ignored", sender="."
    )
    assert await texts(services) == [
        ("Hello from a template", 0, "Shop"),
        ("Flash text", 1, None),
        ("Flash text", 1, None),
    ]
    unknown = await call_json(client, "send", "alice", phones=MTS, tpl="99")
    assert unknown == {"error": "parameters error", "error_code": 1}


async def test_tpl_type_flag_wins_over_the_format(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    flash = await add(client, name="Flash", msg="Flash text", format="flash")
    await call_json(client, "send", "alice", phones=MTS, tpl=str(flash), hlr="1")
    assert [m for _, m, _ in await texts(services)] == [4]


async def test_auto_signature_is_appended_to_sms_texts(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    await add(client, name="Sig", msg="-- Shop", **{"fl[1]": "1"})
    await call_json(client, "send", "alice", phones=MTS, mes="Hello\n~~~\nnote")
    await call_json(client, "send", "alice", phones=MTS, mes="Ping", ping="1")
    assert [t for t, _, _ in await texts(services)] == ["Hello -- Shop", ""]


# --- op_templates.php and err 238 ---------------------------------------------------------------


async def test_op_templates_register_and_list(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    body = await call_json(
        client,
        "op_templates",
        "alice",
        add="1",
        sender="Shop",
        msg="Code %",
        mts_auth="1",
        bee_trn="1",
    )
    assert body == {"id": 1}
    assert (await call(client, "op_templates", "alice", get="1")).text == (
        "id = 1, sender = Shop, operator = mts, kind = auth, status = 0, msg = Code %\n"
        "id = 2, sender = Shop, operator = bee, kind = trn, status = 0, msg = Code %"
    )
    assert (await call(client, "op_templates", "alice", get="1", msg="Nope", fmt="3")).text == "[]"
    xml = (await call(client, "op_templates", "alice", get="1", sender="Shop", fmt="2")).text
    assert xml.count("<item>") == 2


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"add": "1", "msg": "m", "mts_srv": "1"},
        {"add": "1", "sender": "Shop", "mts_srv": "1"},
        {"add": "1", "sender": "Shop", "msg": "m"},
        {"add": "1", "sender": "Other", "msg": "m", "mts_srv": "1"},
    ],
)
async def test_op_templates_errors(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str]
) -> None:
    assert error_code(await call_json(client, "op_templates", "alice", **params)) == 1


async def test_operator_requiring_templates_refuses_unmatched_texts_with_238(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    mts = (await services.numbering.plan()).lookup(MTS)
    assert mts is not None
    await services.templates.require(mts.operator, "mts")
    await call_json(
        client, "op_templates", "alice", add="1", sender="Shop", msg="Code %", mts_auth="1"
    )

    async def send(mes: str, phones: str = MTS) -> list[tuple[str, str]]:
        await clock.advance(61)
        body = await call_json(
            client, "send", "alice", phones=phones, mes=mes, sender="Shop", op="1"
        )
        if "phones" not in body:
            return [("error", str(body["error_code"]))]
        return [(p["status"], p["error"]) for p in body["phones"]]

    # Submitted, not yet approved; all refused → error 8 (http-api.md §2.5).
    assert await send("Code 1234") == [("error", "8")]
    assert await send("Code 1234", f"{MTS},{BEELINE}") == [("20", "238"), ("", "")]
    await services.templates.review(1, OpTemplateStatus.APPROVED)
    assert await send("Code   1234") == [("", "")]
    assert await send("Buy now", f"{MTS},{BEELINE}") == [("20", "238"), ("", "")]
    await services.templates.unrequire(mts.operator)
    assert await send("Buy now") == [("", "")]
