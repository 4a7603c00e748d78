"""jobs.php: every action and layout, every error code, tenant isolation (http-api.md §5)."""

from __future__ import annotations

import json
import time
import urllib.parse
from decimal import Decimal
from typing import Any

import httpx
import pytest

from smsgate.domain.contacts import BlacklistKind, GroupKind
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.services.templates import TemplateFields
from smsgate.store.repos.accounts import AccountRecord
from tests.conftest import ClientFactory, table_count
from tests.support.clock import ManualClock

PASSWORD = "password-1"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
CREATED = "24.11.2025 19:00:00"  # ManualClock's start in Moscow time
PHONES = "79161234567,79261234567"


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    await services.tariffs.set(TariffRule(price=Decimal("1.5")))
    return await services.accounts.create("alice", PASSWORD, balance=Decimal("1000"))


@pytest.fixture
async def bob(services: Services) -> AccountRecord:
    return await services.accounts.create("bob", PASSWORD, balance=Decimal("1000"))


async def jobs(
    client: httpx.AsyncClient, login: str = "alice", *, method: str = "POST", **params: str
) -> httpx.Response:
    data = {"login": login, "psw": PASSWORD, **params}
    if method == "GET":
        response = await client.get("/sys/jobs.php", params=data)
    else:
        response = await client.post("/sys/jobs.php", data=data)
    assert response.status_code == 200
    assert response.content
    return response


async def jobs_json(client: httpx.AsyncClient, login: str = "alice", **params: str) -> Any:
    return json.loads((await jobs(client, login, fmt="3", **params)).text)


async def add(client: httpx.AsyncClient, login: str = "alice", **params: str) -> int:
    body = await jobs_json(
        client, login, add="1", name=params.pop("name", "sale"), **{"phones": PHONES, **params}
    )
    assert "id" in body, body
    return int(body["id"])


# --- add -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "cost", "expected"),
    [
        ("0", "0", "OK, ID - 1"),
        ("1", "0", "1"),
        ("2", "0", XML + "<result><id>1</id></result>"),
        ("3", "0", '{"id": 1}'),
        ("0", "1", "OK, ID - 1, COST - 3.00"),
        ("1", "2", "1,3.00"),
        ("2", "3", XML + "<result><id>1</id><cost>3.00</cost></result>"),
        ("3", "1", '{"id": 1, "cost": "3.00"}'),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_add_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, method: str, fmt: str, cost: str, expected: str
) -> None:
    response = await jobs(
        client, method=method, add="1", name="sale", phones=PHONES, mes="hi", fmt=fmt, cost=cost
    )
    assert response.text == expected


async def test_add_stores_one_row_and_no_message(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await add(client, mes="hello", rpt="2", rptn="3")
    assert await table_count(services, "mailings") == 1
    assert await table_count(services, "messages") == 0
    assert (await services.accounts.get("alice")).balance == Decimal("1000")


async def test_add_in_windows_1251(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    name = urllib.parse.quote("Рассылка".encode("cp1251"))
    body = f"login=alice&psw={PASSWORD}&add=1&charset=windows-1251&fmt=3&phones={PHONES}"
    body += f"&mes=hi&name={name}"
    response = await client.post(
        "/sys/jobs.php",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    job_id = json.loads(response.content.decode("cp1251"))["id"]
    got = await jobs(client, get="1", id=str(job_id), charset="windows-1251", fmt="0")
    assert "name = Рассылка" in got.content.decode("cp1251")


# --- get, get_all --------------------------------------------------------------------------------

RECORD = {
    "id": 1,
    "name": "sale",
    "status": 0,
    "created": CREATED,
    "time": "24.11.2025 20:00:00",
    "rpt": 2,
    "rptn": 3,
    "type": 0,
    "sender": "",
    "cnt": 2,
    "cost": "0.00",
    "last_id": "",
    "mes": "hello",
}


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", ", ".join(f"{k} = {v}" for k, v in RECORD.items())),
        ("1", ",".join(str(v) for v in RECORD.values())),
        (
            "2",
            XML
            + "<list><item>"
            + "".join(f"<{k}>{v}</{k}>" for k, v in RECORD.items())
            + "</item></list>",
        ),
        ("3", json.dumps([RECORD], ensure_ascii=False)),
    ],
)
async def test_get_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    await add(client, mes="hello", rpt="2", rptn="3", time="+60")
    assert (await jobs(client, get="1", id="1", fmt=fmt)).text == expected


async def test_get_all_filters_by_creation_date(
    client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    await add(client, name="first", mes="a")
    await clock.advance(3 * 86400)
    await add(client, name="second", mes="b")
    everything = await jobs_json(client, get_all="1")
    assert [j["name"] for j in everything] == ["first", "second"]
    later = await jobs_json(client, get_all="1", start="25.11.2025")
    assert [j["name"] for j in later] == ["second"]
    earlier = await jobs_json(client, get_all="1", end="24.11.2025")
    assert [j["name"] for j in earlier] == ["first"]
    assert await jobs_json(client, get_all="1", start="01.01.2020", end="02.01.2020") == []
    assert (await jobs(client, get_all="1", start="01.01.2021", end="02.01.2021")).text == "\n"


# --- cancel, del, resume -------------------------------------------------------------------------


async def test_cancel_delete_and_resume(
    client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    job_id = str(await add(client, mes="a"))
    assert (await jobs(client, cancel="1", id=job_id, fmt="0")).text == "OK"
    assert (await jobs_json(client, get="1", id=job_id))[0]["status"] == 3
    assert (await jobs(client, resume="1", id=job_id, fmt="2")).text == XML + "<result>OK</result>"
    await clock.advance(61)  # identical requests (charset and fmt aside) wait a minute
    record = (await jobs_json(client, get="1", id=job_id, charset="utf-8"))[0]
    assert record["status"] == 0
    assert await jobs_json(client, **{"del": "1"}, id=job_id) == {"result": "OK"}
    await clock.advance(61)
    body = await jobs_json(client, get="1", id=job_id, charset="koi8-r")
    assert body == {"error": "record save error", "error_code": 3}


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 1),
        ({"add": "1", "get": "1", "id": "1"}, 1),
        ({"add": "2", "name": "x", "phones": PHONES, "mes": "a"}, 1),
        ({"add": "1", "phones": PHONES, "mes": "a"}, 1),
        ({"add": "1", "name": "x" * 101, "phones": PHONES, "mes": "a"}, 1),
        ({"add": "1", "name": "x", "mes": "a"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "rpt": "8"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "rptn": "0"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "fl[5]": "2"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "cost": "4"}, 1),
        ({"add": "1", "name": "x", "phones": "G77", "mes": "a"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "tpl": "99"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "sender": "NOTMINE"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "flash": "1", "push": "1"}, 1),
        ({"add": "1", "name": "x", "list": "79161234567 hello", "mes": "a"}, 1),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "time": "31.02.25 10:00"}, 5),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "time": "tomorrow"}, 5),
        ({"add": "1", "name": "x", "phones": PHONES, "mes": "a", "tz": "20"}, 5),
        ({"get": "1"}, 1),
        ({"get": "1", "id": "abc"}, 1),
        ({"get": "1", "id": "5"}, 3),
        ({"cancel": "1", "id": "5"}, 3),
        ({"del": "1", "id": "5"}, 3),
        ({"resume": "1", "id": "5"}, 3),
        ({"get_all": "1", "start": "2025-01-01"}, 5),
        ({"get_all": "1", "end": "32.01.2025"}, 5),
    ],
)
async def test_errors(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    params: dict[str, str],
    code: int,
) -> None:
    body = await jobs_json(client, **params)
    assert body["error_code"] == code, body
    assert await table_count(services, "mailings") == 0


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", "ERROR = 3 (record save error)"),
        ("1", "0,-3"),
        ("2", XML + "<result><error>record save error</error><error_code>3</error_code></result>"),
    ],
)
async def test_error_layouts(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    assert (await jobs(client, get="1", id="42", fmt=fmt)).text == expected


async def test_resume_of_a_job_that_is_not_cancelled_is_refused(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    job_id = str(await add(client, mes="a"))
    assert (await jobs_json(client, resume="1", id=job_id))["error_code"] == 1


async def test_bad_fmt_and_credentials(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    assert (await jobs(client, get_all="1", fmt="7")).text == "ERROR = 1 (parameters error)"
    response = await client.post(
        "/sys/jobs.php", data={"login": "alice", "psw": "wrong", "get_all": "1", "fmt": "3"}
    )
    assert response.json()["error_code"] == 2


async def test_identical_requests_within_a_minute(
    client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    await add(client, mes="a")
    body = await jobs_json(client, add="1", name="sale", phones=PHONES, mes="a")
    assert body["error_code"] == 9
    await clock.advance(61)
    assert "id" in await jobs_json(client, add="1", name="sale", phones=PHONES, mes="a")


async def test_ip_lockout_is_error_4(make_client: ClientFactory, alice: AccountRecord) -> None:
    client = make_client("10.9.8.7")
    for _ in range(5):
        await client.post("/sys/jobs.php", data={"login": "alice", "psw": "bad", "get_all": "1"})
    body = await jobs_json(client, get_all="1")
    assert body["error_code"] == 4


# --- isolation -----------------------------------------------------------------------------------


async def test_another_account_cannot_touch_a_job(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, bob: AccountRecord
) -> None:
    job_id = str(await add(client, mes="a"))
    for action in ("get", "cancel", "del", "resume"):
        body = await jobs_json(client, "bob", **{action: "1"}, id=job_id)
        assert body["error_code"] == 3, (action, body)
    assert await jobs_json(client, "bob", get_all="1") == []
    mine = await jobs_json(client, get="1", id=job_id)
    assert mine[0]["status"] == 0


# --- groups, templates, blacklist at acceptance ---------------------------------------------------


async def test_groups_count_their_members_and_templates_give_the_text(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    group = await services.contacts.add_group(alice.id, "clients", 12, GroupKind.PHONES)
    for phone in ("79161111111", "79162222222", "79163333333"):
        await services.contacts.add(alice.id, {"phone": phone}, [group])
    await services.blacklist.add(alice.id, ["79161111111"], BlacklistKind.ALL)
    tpl = await services.templates.add(
        alice,
        TemplateFields(name="t", msg="from template", format=None, sender=None, autosign=None),
    )
    job_id = await add(client, phones="G12,79169999999", tpl=str(tpl))
    record = (await jobs_json(client, get="1", id=str(job_id)))[0]
    assert (record["cnt"], record["mes"]) == (4, "from template")


# --- a big mailing is one row --------------------------------------------------------------------


async def test_a_100k_mailing_is_created_in_one_request_under_a_second(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    phones = ",".join(f"7916{n:07d}" for n in range(100_000))
    form = {"login": "alice", "psw": PASSWORD, "add": "1", "name": "big", "fmt": "3", "mes": "sale"}
    # Encoded beforehand: the client's own urlencoding of 1.3 MB is not the server's time.
    content = urllib.parse.urlencode({**form, "phones": phones}).encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    started = time.perf_counter()
    response = await client.post("/sys/jobs.php", content=content, headers=headers)
    elapsed = time.perf_counter() - started
    body = response.json()
    assert "id" in body, body
    print(f"100k-recipient mailing created in {elapsed:.3f} s")
    assert elapsed < 1.0
    record = (await jobs_json(client, get="1", id=str(body["id"])))[0]
    assert record["cnt"] == 100_000
    assert await table_count(services, "messages") == 0
    too_many = await jobs_json(client, add="1", name="big", phones=phones + ",79990000001", mes="x")
    assert too_many["error_code"] == 1
