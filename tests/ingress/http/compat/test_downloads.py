"""downloads.php: every layout and error code, the limits, and tenant isolation (http-api.md §13)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass, field
from dataclasses import replace as with_changes
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from smsgate.app import export_runner
from smsgate.ingress.http.app import build_http_app
from smsgate.services.container import Services
from smsgate.store.repos import guards as guard_repo
from smsgate.store.repos.accounts import AccountRecord
from tests.conftest import ClientFactory
from tests.support.clock import ManualClock
from tests.support.exports import TEMPLATE, store, store_many

PASSWORD = "correct-horse-1"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
CREATED = "24.11.2025 19:00:00"  # ManualClock's start in Moscow time (the accounts' zone)
RAN = "24.11.2025 19:01:00"
PERIOD = {"start": "01.11.2025", "end": "24.11.2025"}


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    return await services.accounts.create("alice", PASSWORD)


@pytest.fixture
async def bob(services: Services) -> AccountRecord:
    return await services.accounts.create("bob", PASSWORD)


async def call(client: httpx.AsyncClient, login: str = "alice", **params: str) -> httpx.Response:
    response = await client.get(
        "/sys/downloads.php", params={"login": login, "psw": PASSWORD, **params}
    )
    assert response.status_code == 200
    assert response.content, "official clients treat an empty body as a transport failure"
    return response


async def add(client: httpx.AsyncClient, login: str = "alice", **params: str) -> int:
    response = await call(
        client, login, **{"add": "1", "name": "march", "fmt": "1"} | PERIOD | params
    )
    return int(response.text)


async def run_all(services: Services) -> None:
    await export_runner(services).run_until_idle()


def error(code: int, description: str) -> dict[str, object]:
    return {"error": description, "error_code": code}


# --- add and cancel -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", "OK, ID - 1"),
        ("1", "1"),
        ("2", f"{XML}<result><id>1</id></result>"),
        ("3", '{"id": 1}'),
    ],
)
async def test_add_answers_in_the_created_layout(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    response = await call(client, add="1", name="march", fmt=fmt, **PERIOD)
    assert response.text == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("0", "OK"), ("1", "OK"), ("2", f"{XML}<result>OK</result>"), ("3", '{"result": "OK"}')],
)
async def test_cancel_answers_in_the_ok_layout(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    task_id = await add(client)
    assert (await call(client, cancel="1", id=str(task_id), fmt=fmt)).text == expected
    listed = (await call(client, get_list="1", fmt="3")).json()
    assert listed[0]["status"] == 3


async def test_post_and_api_key_work_as_get(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    _, key = await services.accounts.new_api_key("alice")
    response = await client.post(
        "/sys/downloads.php", data={"apikey": key, "add": "1", "name": "m", "fmt": "3"} | PERIOD
    )
    assert response.json() == {"id": 1}
    response = await client.post(
        "/sys/downloads.php", data={"apikey": key, "get_list": "1", "fmt": "1"}
    )
    assert response.text == f"1,m,0,{CREATED},,"


# --- get_list -------------------------------------------------------------------------------------


@pytest.fixture
async def two_tasks(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    """Task 1 done (run a minute after it was created), task 2 waiting."""
    await add(client, name="march")
    await clock.advance(60)
    await run_all(services)
    await add(client, name="Отчёт, апрель")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "0",
            f"id = 1, name = march, status = 2, created = {CREATED}, time = {RAN}, "
            "file = export_1.csv\n"
            f"id = 2, name = Отчёт, апрель, status = 0, created = {RAN}, time = , file = ",
        ),
        ("1", f"1,march,2,{CREATED},{RAN},export_1.csv\n2,Отчёт, апрель,0,{RAN},,"),
        (
            "2",
            f"{XML}<list>"
            f"<task><id>1</id><name>march</name><status>2</status><created>{CREATED}</created>"
            f"<time>{RAN}</time><file>export_1.csv</file></task>"
            f"<task><id>2</id><name>Отчёт, апрель</name><status>0</status>"
            f"<created>{RAN}</created><time></time><file></file></task>"
            "</list>",
        ),
        (
            "3",
            json.dumps(
                [
                    {
                        "id": 1,
                        "name": "march",
                        "status": 2,
                        "created": CREATED,
                        "time": RAN,
                        "file": "export_1.csv",
                    },
                    {
                        "id": 2,
                        "name": "Отчёт, апрель",
                        "status": 0,
                        "created": RAN,
                        "time": "",
                        "file": "",
                    },
                ],
                ensure_ascii=False,
            ),
        ),
    ],
)
async def test_get_list_layouts(
    client: httpx.AsyncClient, two_tasks: None, fmt: str, expected: str
) -> None:
    assert (await call(client, get_list="1", fmt=fmt)).text == expected


@pytest.mark.parametrize(
    ("fmt", "expected"), [("0", "\n"), ("1", "\n"), ("2", f"{XML}<list></list>"), ("3", "[]")]
)
async def test_empty_list(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    assert (await call(client, get_list="1", fmt=fmt)).text == expected


async def test_get_list_pages_with_cnt_and_after_id(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    for n in range(5):
        await add(client, name=f"t{n}")

    async def ids(**params: str) -> list[int]:
        return [task["id"] for task in (await call(client, get_list="1", fmt="3", **params)).json()]

    assert await ids() == [1, 2, 3, 4, 5]
    assert await ids(cnt="2") == [1, 2]
    assert await ids(cnt="2", after_id="2") == [3, 4]
    assert await ids(after_id="4") == [5]
    assert await ids(after_id="5", cnt="1000") == []


async def test_list_dates_are_in_the_accounts_zone(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await services.accounts.create("vlad", PASSWORD)

    async def zone(conn: AsyncConnection) -> None:
        from smsgate.store.repos import accounts as account_repo

        account = await account_repo.get_by_login(conn, "vlad")
        assert account is not None
        await account_repo.update_account(
            conn, account.id, bump_auth=False, now=services.clock.now(), tz_minutes=7 * 60
        )

    await services.writer.submit(zone)
    await add(client, "vlad")
    listed = (await call(client, "vlad", get_list="1", fmt="3")).json()
    assert listed[0]["created"] == "25.11.2025 02:00:00"


# --- get_file ------------------------------------------------------------------------------------


async def test_get_file_streams_the_csv_as_an_attachment(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await store(services, [with_changes(TEMPLATE, account_id=alice.id, text='Привет, "мир"\n!')])
    task_id = await add(client)
    await run_all(services)
    for lookup in ({"id": str(task_id)}, {"name": "export_1.csv"}, {"name": "march"}):
        response = await call(client, get_file="1", **lookup)
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == "attachment; filename=export_1.csv"
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))
        assert rows[0][:3] == ["int_id", "id", "phone"]
        assert rows[1][4] == 'Привет, "мир"\n!'


async def test_the_file_comes_in_the_charset_of_add_or_of_get_file(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await store(services, [with_changes(TEMPLATE, account_id=alice.id, text="Ёжик 👍")])
    task_id = await add(client, charset="windows-1251")
    await run_all(services)
    response = await call(client, get_file="1", id=str(task_id))
    assert response.headers["content-type"] == "text/csv; charset=windows-1251"
    assert "Ёжик ?".encode("windows-1251") in response.content
    # Asked for in another charset: re-encoded on the way.
    response = await call(client, get_file="1", id=str(task_id), charset="utf-8")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "Ёжик ?".encode() in response.content


async def test_a_large_file_is_sent_whole(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await store_many(services, alice.id, 3000)
    task_id = await add(client, charset="koi8-r")
    await run_all(services)
    plain = await call(client, get_file="1", id=str(task_id))
    assert len(plain.content) > 200_000  # several chunks
    recoded = await call(client, get_file="1", id=str(task_id), charset="utf-8")
    assert recoded.content.decode("utf-8") == plain.content.decode("koi8-r")
    assert len(list(csv.reader(io.StringIO(recoded.text, newline="")))) == 3001


async def test_by_name_the_newest_finished_file_wins(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await add(client, name="daily")
    await run_all(services)
    await add(client, name="daily")
    await run_all(services)
    await add(client, name="daily")  # waiting: not a candidate
    response = await call(client, get_file="1", name="daily")
    assert response.headers["content-disposition"] == "attachment; filename=export_2.csv"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="no command"),
        pytest.param({"get_list": "1", "add": "1"}, id="two commands"),
        pytest.param({"get_list": "2"}, id="command not 1"),
        pytest.param({"get_list": "1", "cnt": "0"}, id="cnt 0"),
        pytest.param({"get_list": "1", "cnt": "1001"}, id="cnt over 1000"),
        pytest.param({"get_list": "1", "after_id": "-1"}, id="negative after_id"),
        pytest.param({"get_file": "1"}, id="get_file without id or name"),
        pytest.param({"get_file": "1", "id": "x"}, id="id not a number"),
        pytest.param({"cancel": "1"}, id="cancel without id"),
        pytest.param({"add": "1"} | PERIOD, id="add without name"),
        pytest.param({"add": "1", "name": "m", "start": "01.11.2025"}, id="add without end"),
        pytest.param(
            {"add": "1", "name": "m", "start": "1.13.2025", "end": "1.1.2026"}, id="bad date"
        ),
        pytest.param(
            {"add": "1", "name": "m", "start": "02.11.2025", "end": "01.11.2025"}, id="end first"
        ),
        pytest.param(
            {"add": "1", "name": "m", "start": "01.11.2024", "end": "01.11.2025"}, id="13 months"
        ),
        pytest.param({"add": "1", "name": "m", "status": "7"} | PERIOD, id="unknown status"),
        pytest.param({"add": "1", "name": "m", "type": "99"} | PERIOD, id="unknown type"),
        pytest.param({"add": "1", "name": "m", "phone": "12ab"} | PERIOD, id="bad phone"),
        pytest.param({"add": "1", "name": "a\tb"} | PERIOD, id="control character in name"),
    ],
)
async def test_parameter_errors_are_error_1(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str]
) -> None:
    response = await call(client, fmt="3", **params)
    assert response.json() == error(1, "parameters error")


async def test_a_twelve_month_period_is_allowed(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert await add(client, start="01.12.2024", end="30.11.2025") == 1
    # The end is inclusive at its precision (http-api.md §1.4): 10:00 is the minute up to 10:01.
    assert await add(client, start="29.02.2024 10:00", end="28.02.2025 09:59") == 2
    refused = await call(
        client, add="1", name="m", start="29.02.2024 10:00", end="28.02.2025 10:00"
    )
    assert refused.text == "ERROR = 1 (parameters error)"


async def test_cancel_of_a_finished_task_is_error_1(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    task_id = await add(client)
    await run_all(services)
    response = await call(client, cancel="1", id=str(task_id), fmt="3")
    assert response.json() == error(1, "parameters error")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("0", "ERROR = 5 (file not available)"),
        ("1", "0,-5"),
        ("2", f"{XML}<result><error>file not available</error><error_code>5</error_code></result>"),
        ("3", '{"error": "file not available", "error_code": 5}'),
    ],
)
async def test_unknown_task_is_error_5_in_every_format(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str, expected: str
) -> None:
    assert (await call(client, get_file="1", id="42", fmt=fmt)).text == expected


async def test_a_file_not_ready_cancelled_or_expired_is_error_5(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    waiting = await add(client, name="w")
    assert (await call(client, get_file="1", id=str(waiting), fmt="1")).text == "0,-5"
    await call(client, cancel="1", id=str(waiting))
    assert (await call(client, get_file="1", id=str(waiting), fmt="1")).text == "0,-5"
    done = await add(client, name="d")
    runner = export_runner(services)
    await runner.run_until_idle()
    assert (
        (await call(client, get_file="1", id=str(done)))
        .headers["content-type"]
        .startswith("text/csv")
    )
    await clock.advance(services.settings.exports.retention_days * 86400 + 1)
    await runner.sweep()
    assert (await call(client, get_file="1", id=str(done), fmt="1")).text == "0,-5"
    listed = (await call(client, get_list="1", fmt="3")).json()
    assert listed[1]["status"] == 2  # the task stays
    assert (await call(client, cancel="1", id="77", fmt="1")).text == "0,-5"


async def test_wrong_password_is_error_2(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    response = await client.get(
        "/sys/downloads.php",
        params={"login": "alice", "psw": "wrong", "get_list": "1", "fmt": "3"},
    )
    assert response.json() == error(2, "authorise error")


async def test_a_blocked_ip_is_error_4(
    services: Services, make_client: ClientFactory, clock: ManualClock, alice: AccountRecord
) -> None:
    async def block(conn: AsyncConnection) -> None:
        await guard_repo.block_ip(conn, "203.0.113.9", "auth", clock.now() + 600)

    await services.writer.submit(block)
    await clock.advance(1)
    response = await call(make_client("203.0.113.9"), get_list="1", fmt="3")
    assert response.json() == error(4, "IP is temporarily blocked")


# --- limits (http-api.md §1.7) -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["get_list", "get_file"])
async def test_fourth_identical_request_within_a_minute_is_error_9(
    services: Services,
    client: httpx.AsyncClient,
    clock: ManualClock,
    alice: AccountRecord,
    command: str,
) -> None:
    task_id = await add(client)
    await run_all(services)
    params = {command: "1", "id": str(task_id)}
    # fmt and charset do not make a request different (§1.7).
    for fmt in ("0", "1", "3"):
        assert (await call(client, fmt=fmt, **params)).text != "0,-9"
    assert (await call(client, fmt="1", **params)).text == "0,-9"
    assert (await call(client, fmt="3", charset="koi8-r", **params)).json() == error(
        9, "too many requests"
    )
    # Other parameters make another request; add and cancel are not limited this way.
    assert (await call(client, fmt="1", cnt="5", **params)).text != "0,-9"
    assert await add(client) == 2
    await clock.advance(61)
    assert (await call(client, fmt="1", **params)).text != "0,-9"


async def test_the_limit_is_per_login(
    client: httpx.AsyncClient, alice: AccountRecord, bob: AccountRecord
) -> None:
    for _ in range(3):
        await call(client, get_list="1")
    assert (await call(client, "alice", get_list="1", fmt="1")).text == "0,-9"
    assert (await call(client, "bob", get_list="1", fmt="1")).text == "\n"


async def test_the_limit_holds_across_nodes(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: AccountRecord
) -> None:
    """Requests another node accepted are counted too: the log lives in the database."""
    from smsgate.services.guards import request_fingerprint

    fingerprint = request_fingerprint("/sys/downloads.php", {"get_list": "1"})

    async def other_node(conn: AsyncConnection) -> None:
        await guard_repo.log_requests(conn, [("alice", fingerprint)] * 3, clock.now())

    await services.writer.submit(other_node)
    assert (await call(client, get_list="1", fmt="1")).text == "0,-9"


@dataclass
class HeldRequest:
    """A request driven through the ASGI app directly, held open at its first body chunk."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    body: bytearray = field(default_factory=bytearray)
    task: asyncio.Task[None] | None = None


def hold(app: Starlette, query: str) -> HeldRequest:
    held = HeldRequest()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/sys/downloads.php",
        "raw_path": b"/sys/downloads.php",
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"smsgate.test")],
        "client": ("127.0.0.1", 40000),
        "server": ("smsgate.test", 80),
    }
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await held.release.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            held.body += message.get("body", b"")
            if not held.started.is_set():
                held.started.set()
                await held.release.wait()

    held.task = asyncio.create_task(app(scope, receive, send))
    return held


@pytest.fixture
async def app(services: Services) -> AsyncIterator[Starlette]:
    yield build_http_app(services, lambda: {"http": True})


async def test_fifteenth_concurrent_request_is_error_9(
    services: Services, client: httpx.AsyncClient, app: Starlette, alice: AccountRecord
) -> None:
    """Fourteen downloads in progress (each held at its first chunk): the next request is refused."""
    task_id = await add(client)
    await run_all(services)
    credentials = f"login=alice&psw={PASSWORD}&get_file=1&id={task_id}"
    # Distinct requests (n=…), so that the identical-request limit does not interfere.
    downloads = [hold(app, f"{credentials}&n={n}") for n in range(14)]
    try:
        await asyncio.gather(*(held.started.wait() for held in downloads))
        assert services.guards.in_progress("alice") == 14
        response = await call(client, get_list="1", fmt="3")
        assert response.json() == error(9, "too many concurrent requests")
        first = downloads[0]
        first.release.set()
        assert first.task is not None
        await first.task
        assert bytes(first.body).startswith(b"int_id,id,phone")
        response = await call(client, get_list="1", fmt="3")
        assert response.json()[0]["id"] == task_id
    finally:
        for held in downloads:
            held.release.set()
        await asyncio.gather(*(held.task for held in downloads if held.task is not None))
    assert services.guards.in_progress("alice") == 0


async def test_requests_in_progress_on_other_nodes_count_too(
    services: Services,
    client: httpx.AsyncClient,
    app: Starlette,
    clock: ManualClock,
    alice: AccountRecord,
) -> None:
    """Four downloads held here and ten requests in progress on another node: the next is
    refused; once that node's count is stale, it is not (http-api.md §1.7, across nodes)."""
    task_id = await add(client)
    await run_all(services)

    async def other_node(conn: AsyncConnection) -> None:
        await guard_repo.publish_inflight(conn, "node-b", {"alice": 10}, clock.now())

    await services.writer.submit(other_node)
    await clock.advance(services.settings.limits.concurrent_publish)  # read the store again
    credentials = f"login=alice&psw={PASSWORD}&get_file=1&id={task_id}"
    downloads = [hold(app, f"{credentials}&n={n}") for n in range(4)]
    try:
        await asyncio.gather(*(held.started.wait() for held in downloads))
        response = await call(client, get_list="1", fmt="3")
        assert response.json() == error(9, "too many concurrent requests")
        await clock.advance(services.settings.limits.concurrent_stale + 1)
        response = await call(client, get_list="1", fmt="3")
        assert response.json()[0]["id"] == task_id
    finally:
        for held in downloads:
            held.release.set()
        await asyncio.gather(*(held.task for held in downloads if held.task is not None))


# --- tenant isolation ------------------------------------------------------------------------


async def test_one_account_never_sees_anothers_tasks_or_files(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, bob: AccountRecord
) -> None:
    await store_many(services, alice.id, 5)
    secret = await add(client, "alice", name="secret")
    await run_all(services)
    own = await add(client, "bob", name="mine")
    await run_all(services)
    listed = (await call(client, "bob", get_list="1", fmt="3")).json()
    assert [task["id"] for task in listed] == [own]
    attempts = [
        {"id": str(secret)},
        {"name": "export_1.csv"},
        {"name": "secret"},
        {"name": "../1-1.csv"},
        {"name": f"../exports/{secret}-1.csv"},
        {"name": f"{services.settings.exports.dir}/{secret}-1.csv"},
        {"name": "..%2F1-1.csv"},
    ]
    for n, lookup in enumerate(attempts):
        response = await call(client, "bob", get_file="1", fmt="1", n=str(n), **lookup)
        assert response.text == "0,-5", lookup
    assert (await call(client, "bob", cancel="1", id=str(secret), fmt="1")).text == "0,-5"
    assert (await call(client, "alice", get_list="1", fmt="3")).json()[0]["status"] == 2
    mine = await call(client, "bob", get_file="1", id=str(own))
    assert len(list(csv.reader(io.StringIO(mine.text, newline="")))) == 1  # his: no messages
