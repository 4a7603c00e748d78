"""Short links end to end (issue 7): send.php ``tinyurl=1`` → stored texts, parts and cost of the
text as sent → ``GET /l/<code>`` → 302, counters, status 4 with its event → tinyurls.php in every
layout, its errors and its isolation between accounts (http-api.md §2.1, §2.3, §11)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from smsgate.channels.simulator import SimulatorChannel
from smsgate.config import Settings
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.contacts import BlacklistKind
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.schema import events, messages, short_link_codes
from tests.conftest import ClientFactory, make_settings
from tests.support.clock import ManualClock
from tests.support.guards import block_ip, busy_elsewhere

PASSWORD = "password-1"
BASE = "https://sg.example"
LINK = re.compile(r"https://sg\.example/l/([0-9A-Za-z]{8})")
URL = "https://shop.example/catalog/" + "a" * 150 + "?ref=sms"
TEXT = f"Order ready: {URL} Thanks!"  # 185 characters: two parts as written, one when shortened
PHONES = ("79161234567", "79161234561")
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
FIELDS = ["id", "link", "url", "cnt", "cnt_mon", "cnt_day", "cnt_yes", "created"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, SMSGATE_LINKS_BASE_URL=BASE + "/")


@pytest.fixture
async def accounts(services: Services) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("2.50")))
    for login in ("alice", "bob"):
        await services.accounts.create(login, PASSWORD, balance=Decimal("1000"))


async def send(client: httpx.AsyncClient, login: str = "alice", **params: str) -> dict[str, Any]:
    data = {"login": login, "psw": PASSWORD, "fmt": "3", "cost": "2", "phones": ",".join(PHONES)}
    data.update({"mes": TEXT, "tinyurl": "1", **params})
    body = (await client.post("/sys/send.php", data=data)).json()
    assert isinstance(body, dict)
    return body


async def stored(services: Services) -> dict[str, tuple[int, str, int, int]]:
    """phone → (message id, text, parts, status)."""
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(
                messages.c.phone,
                messages.c.id,
                messages.c.text,
                messages.c.parts,
                messages.c.status,
            )
        )
        return {r.phone: (int(r.id), str(r.text), int(r.parts), int(r.status)) for r in rows}


def code_in(text: str) -> str:
    found = LINK.search(text)
    assert found is not None, text
    return found.group(1)


async def deliver(services: Services, clock: ManualClock) -> None:
    await Dispatcher(services.writer, [SimulatorChannel(clock)], clock, seed=1).run_until_idle()


async def tinyurls(
    client: httpx.AsyncClient, login: str = "alice", **params: str
) -> httpx.Response:
    query = {"login": login, "psw": PASSWORD, "get": "1", **params}
    response = await client.get("/sys/tinyurls.php", params=query)
    assert response.status_code == 200 and response.content
    return response


async def record(client: httpx.AsyncClient, login: str = "alice", **params: str) -> Any:
    return json.loads((await tinyurls(client, login, fmt="3", **params)).text)


async def click(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.get(f"/l/{code}", follow_redirects=False)


async def test_send_stores_short_links_priced_as_sent(
    services: Services, client: httpx.AsyncClient, accounts: None
) -> None:
    plain = await send(client, tinyurl="0", cost="1")
    assert plain == {"cost": "10.00", "cnt": 4}  # two parts each as written
    sent = await send(client)
    assert sent["cnt"] == 2 and sent["cost"] == "5.00"
    rows = await stored(services)
    codes = {phone: code_in(rows[phone][1]) for phone in PHONES}
    assert len(set(codes.values())) == 2  # unique per recipient
    for phone in PHONES:
        _, text, parts, _ = rows[phone]
        assert text == f"Order ready: {BASE}/l/{codes[phone]} Thanks!"
        assert parts == 1
    async with services.db.read() as conn:
        rows_of_codes = (await conn.execute(select(short_link_codes))).mappings().all()
    # One code per recipient and the record's own code (no message).
    assert sorted(r["message_id"] is None for r in rows_of_codes) == [False, False, True]


async def test_click_redirects_counts_and_moves_a_delivered_message_to_4(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, accounts: None
) -> None:
    sent = await send(client)
    rows = await stored(services)
    code = code_in(rows[PHONES[0]][1])
    early = await click(client, code)  # before the receipt: counted, status unchanged
    assert early.status_code == 302 and early.headers["location"] == URL
    assert (await stored(services))[PHONES[0]][3] == -1
    await deliver(services, clock)
    for _ in range(2):
        response = await click(client, code)
        assert response.status_code == 302
        assert response.headers["location"] == URL
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
    status = (
        await client.get(
            "/sys/status.php",
            params={"login": "alice", "psw": PASSWORD, "fmt": "3", "id": str(sent["id"]),
                    "phone": PHONES[0]},
        )
    ).json()  # fmt: skip
    assert status["status"] == 4
    after = await stored(services)
    assert after[PHONES[1]][3] == 1  # the other recipient did not click
    async with services.db.read() as conn:
        statuses = await conn.execute(
            select(events.c.status)
            .where(events.c.message_id == after[PHONES[0]][0])
            .order_by(events.c.id)
        )
        assert [int(s) for (s,) in statuses] == [0, 1, 4]
        clicks = await conn.execute(
            select(short_link_codes.c.clicks).where(short_link_codes.c.code == code)
        )
        assert clicks.scalar_one() == 3
    assert (await record(client, link=URL))["cnt"] == 3


@pytest.mark.parametrize("path", ["/l/ZZZZZZZZ", "/l/" + "x" * 500, "/l/a%00b", "/l/..%2F..%2Fetc"])
async def test_unknown_codes_are_404_pages(
    client: httpx.AsyncClient, accounts: None, path: str
) -> None:
    response = await client.get(path, follow_redirects=False)
    assert response.status_code == 404
    if "%2F" not in path:  # a slash makes it no short-link path at all (the router's 404)
        assert "Link not found" in response.text


async def test_counters_by_day_and_month(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, accounts: None
) -> None:
    # The manual clock starts on 24 November 2025 at 19:00 Moscow time.
    await send(client)
    code = code_in((await stored(services))[PHONES[0]][1])
    await click(client, code)
    assert [(await record(client, link=URL))[k] for k in FIELDS[3:7]] == [1, 1, 1, 0]
    await clock.advance(86400)
    await click(client, code)
    await click(client, code)
    assert [(await record(client, link=URL))[k] for k in FIELDS[3:7]] == [3, 3, 2, 1]
    await clock.advance(7 * 86400)  # 2 December: a new month
    assert [(await record(client, link=URL))[k] for k in FIELDS[3:7]] == [3, 0, 0, 0]
    await click(client, code)
    assert [(await record(client, link=URL))[k] for k in FIELDS[3:7]] == [4, 1, 1, 0]


async def test_every_way_of_naming_the_record_finds_it_in_every_layout(
    services: Services, client: httpx.AsyncClient, accounts: None
) -> None:
    await send(client)
    recipient_code = code_in((await stored(services))[PHONES[0]][1])
    first = await record(client, link=URL)
    assert list(first) == FIELDS
    assert first["url"] == URL and first["cnt"] == 0
    assert first["created"] == "24.11.2025 19:00:00"
    own = first["link"]
    assert LINK.fullmatch(own) and code_in(own) != recipient_code
    for how in (
        {"id": str(first["id"])},
        {"link": own},
        {"link": code_in(own)},
        {"link": f"{BASE}/l/{recipient_code}"},
        {"link": recipient_code},
    ):
        assert await record(client, **how) == first, how
    values = [first[k] for k in FIELDS]
    text = ", ".join(f"{k} = {v}" for k, v in zip(FIELDS, values, strict=True))
    assert (await tinyurls(client, id=str(first["id"]))).text == text
    assert (await tinyurls(client, id=str(first["id"]), fmt="1")).text == ",".join(map(str, values))
    xml = (await tinyurls(client, id=str(first["id"]), fmt="2")).text
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in zip(FIELDS, values, strict=True))
    assert xml == f"{XML}<result>{inner.replace('&', '&amp;')}</result>"
    # A second send of the same URL shares the record.
    await send(client, mes=f"again {URL}", phones="79161234562")
    assert (await record(client, link=URL))["id"] == first["id"]


@pytest.mark.parametrize(
    ("params", "code", "description"),
    [
        ({}, 1, "parameters error"),
        ({"get": "0", "id": "1"}, 1, "parameters error"),
        ({"get": "1"}, 1, "parameters error"),
        ({"get": "1", "id": "abc"}, 1, "parameters error"),
        ({"get": "1", "id": "0"}, 1, "parameters error"),
        ({"get": "1", "id": "99999999999999999999"}, 1, "parameters error"),
        ({"get": "1", "link": "x" * 9000}, 1, "parameters error"),
        ({"get": "1", "id": "999"}, 3, "link not found"),
        ({"get": "1", "link": "https://nowhere.example/"}, 3, "link not found"),
        ({"get": "1", "link": f"{BASE}/l/ZZZZZZZZ"}, 3, "link not found"),
        ({"get": "1", "id": "1", "psw": "wrong"}, 2, "authorise error"),
        ({"get": "1", "id": "1", "fmt": "7"}, 1, "parameters error"),
    ],
)
async def test_errors(
    client: httpx.AsyncClient,
    accounts: None,
    params: dict[str, str],
    code: int,
    description: str,
) -> None:
    query = {"login": "alice", "psw": PASSWORD, "fmt": "3", **params}
    response = await client.get("/sys/tinyurls.php", params=query)
    expected = {"error": description, "error_code": code}
    if params.get("fmt") == "7":
        assert response.text == f"ERROR = {code} ({description})"
    else:
        assert response.json() == expected


async def test_blocked_ip_is_4_and_the_fifteenth_request_is_9(
    services: Services, make_client: ClientFactory, clock: ManualClock, accounts: None
) -> None:
    await block_ip(services, clock, "203.0.113.9")
    body = (
        await make_client("203.0.113.9").get(
            "/sys/tinyurls.php",
            params={"login": "alice", "psw": PASSWORD, "get": "1", "id": "1", "fmt": "3"},
        )
    ).json()
    assert body == {"error": "IP is temporarily blocked", "error_code": 4}
    await busy_elsewhere(services, clock)
    body = await record(make_client(), id="1")
    assert body == {"error": "too many concurrent requests", "error_code": 9}


async def test_bob_cannot_read_or_click_alices_links_into_his_records(
    services: Services, client: httpx.AsyncClient, accounts: None
) -> None:
    await send(client)
    alices = await record(client, link=URL)
    recipient_code = code_in((await stored(services))[PHONES[0]][1])
    not_found = {"error": "link not found", "error_code": 3}
    for how in (
        {"id": str(alices["id"])},
        {"link": alices["link"]},
        {"link": f"{BASE}/l/{recipient_code}"},
        {"link": URL},
    ):
        assert await record(client, "bob", **how) == not_found, how
    await send(client, "bob", phones="79031234567")
    bobs = await record(client, "bob", link=URL)
    assert bobs["id"] != alices["id"] and bobs["link"] != alices["link"]
    await click(client, code_in(bobs["link"]))
    assert (await record(client, "bob", link=URL))["cnt"] == 1
    assert (await record(client, link=URL))["cnt"] == 0


@pytest.mark.parametrize(
    ("params", "expected_text"),
    [
        ({"tinyurl": "0"}, TEXT),
        ({"mes": f"__CALL__{URL}", "tinyurl": "1"}, URL),  # speech: left alone
        ({"maxsms": "1", "mes": "x" * 140 + f" {URL}"}, None),  # the link is cut: no code
    ],
)
async def test_texts_that_keep_their_urls(
    services: Services,
    client: httpx.AsyncClient,
    accounts: None,
    params: dict[str, str],
    expected_text: str | None,
) -> None:
    body = await send(client, phones=PHONES[0], **params)
    assert "error" not in body, body
    text = (await stored(services))[PHONES[0]][1]
    if expected_text is not None:
        assert text == expected_text
    else:
        assert LINK.search(text) is None and len(text) == 160
    async with services.db.read() as conn:
        assert (await conn.execute(select(short_link_codes))).first() is None


async def test_tinyurl_must_be_0_or_1(client: httpx.AsyncClient, accounts: None) -> None:
    assert await send(client, tinyurl="2") == {"error": "parameters error", "error_code": 1}


async def test_a_refused_recipient_keeps_the_original_url(
    services: Services, client: httpx.AsyncClient, accounts: None
) -> None:
    alice = await services.accounts.get("alice")
    await services.blacklist.add(alice.id, [PHONES[1]], BlacklistKind.ALL)
    body = await send(client)
    assert body["cnt"] == 1
    rows = await stored(services)
    assert rows[PHONES[1]][1] == TEXT and rows[PHONES[1]][3] == 23
    assert LINK.search(rows[PHONES[0]][1])


async def test_rest_send_takes_tinyurl_too(
    services: Services, client: httpx.AsyncClient, accounts: None
) -> None:
    body = {"login": "alice", "psw": PASSWORD, "phones": [PHONES[0]], "mes": TEXT, "tinyurl": True}
    answer = (await client.post("/rest/send/", json=body)).json()
    assert answer["cnt"] == 1
    assert LINK.search((await stored(services))[PHONES[0]][1])
