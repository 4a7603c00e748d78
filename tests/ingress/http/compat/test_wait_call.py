"""wait_call.php and incoming calls end to end (issue 7, http-api.md §12, §14): the number to call in
every layout, the errors, how waits share the pool, the provider endpoint's signature, and a call
that reaches a real callback handler on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsgate.app import open_services
from smsgate.config import Settings
from smsgate.domain.calls import SIGNATURE_HEADER, sign
from smsgate.ingress.http.app import build_http_app
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from tests.conftest import ClientFactory, make_settings, table_count
from tests.dispatch.callback_support import SECRET, callback_sender, expected_signature
from tests.peers.callback_receiver import CallbackReceiver
from tests.support.clock import ManualClock
from tests.support.guards import block_ip, busy_elsewhere

PASSWORD = "password-1"
POOL = ("79990001101", "79990001102", "79990001103")
PROVIDER_SECRET = "provider-shared-secret"
SUBSCRIBER = "79161234567"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        SMSGATE_WAIT_CALL_NUMBERS="+7 999 000-11-01, 79990001102;79990001103",
        SMSGATE_WAIT_CALL_PROVIDER_SECRET=PROVIDER_SECRET,
        SMSGATE_CALLBACKS_ALLOW_PRIVATE_NETWORKS="1",
    )


@pytest.fixture
async def accounts(services: Services) -> None:
    for login in ("alice", "bob", "carol", "dave"):
        await services.accounts.create(login, PASSWORD, balance=Decimal("10"))


@pytest.fixture
async def receiver(clock: ManualClock) -> AsyncIterator[CallbackReceiver]:
    handler = CallbackReceiver(clock)
    await handler.start()
    yield handler
    await handler.stop()


async def wait_call(
    client: httpx.AsyncClient, login: str = "alice", **params: str
) -> httpx.Response:
    query = {"login": login, "psw": PASSWORD, **params}
    response = await client.post("/sys/wait_call.php", data=query)
    assert response.status_code == 200 and response.content
    return response


async def wait_json(client: httpx.AsyncClient, login: str = "alice", **params: str) -> Any:
    return json.loads((await wait_call(client, login, fmt="3", **params)).text)


async def report_call(
    client: httpx.AsyncClient,
    caller: str,
    called: str,
    *,
    at: float | None = None,
    secret: str = PROVIDER_SECRET,
    body: bytes | None = None,
) -> httpx.Response:
    event: dict[str, object] = {"from": caller, "to": called}
    if at is not None:
        event["time"] = at
    content = json.dumps(event).encode() if body is None else body
    headers = {SIGNATURE_HEADER: sign(secret, content), "Content-Type": "application/json"}
    return await client.post("/providers/calls/incoming", content=content, headers=headers)


@pytest.mark.parametrize("fmt", ["0", "1", "2", "3"])
async def test_layouts(client: httpx.AsyncClient, accounts: None, fmt: str) -> None:
    first = await wait_json(client, phone="8 (916) 123-45-67")  # normalised like send.php
    assert set(first) == {"phone", "id"} and first["phone"] in POOL
    assert isinstance(first["id"], int)
    number, wait_id = first["phone"], first["id"]
    # Asking again for the same subscriber gives the same wait back, in any layout.
    text = (await wait_call(client, phone=SUBSCRIBER, fmt=fmt)).text
    assert (
        text
        == {
            "0": f"phone = {number}, id = {wait_id}",
            "1": f"{number},{wait_id}",
            "2": f"{XML}<result><phone>{number}</phone><id>{wait_id}</id></result>",
            "3": json.dumps({"phone": number, "id": wait_id}),
        }[fmt]
    )


@pytest.mark.parametrize(
    ("params", "code", "description"),
    [
        ({}, 1, "parameters error"),
        ({"phone": " "}, 1, "parameters error"),
        ({"phone": "abc"}, 7, "invalid phone number"),
        ({"phone": "123"}, 7, "invalid phone number"),
        ({"phone": "79161234567,79161234568"}, 7, "invalid phone number"),
        ({"phone": "7" * 100}, 7, "invalid phone number"),
        ({"phone": "70001234567"}, 7, "invalid phone number"),  # not in the numbering plan
        ({"phone": SUBSCRIBER, "psw": "wrong"}, 2, "authorise error"),
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
    body = (await client.post("/sys/wait_call.php", data=query)).json()
    assert body == {"error": description, "error_code": code}


async def test_blocked_ip_is_4_and_the_fifteenth_request_is_9(
    services: Services, make_client: ClientFactory, clock: ManualClock, accounts: None
) -> None:
    await block_ip(services, clock, "203.0.113.9")
    blocked = await wait_json(make_client("203.0.113.9"), phone=SUBSCRIBER)
    assert blocked == {"error": "IP is temporarily blocked", "error_code": 4}
    await busy_elsewhere(services, clock)
    busy = await wait_json(make_client(), phone=SUBSCRIBER)
    assert busy == {"error": "too many concurrent requests", "error_code": 9}


async def test_without_numbers_wait_call_is_error_1(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with open_services(make_settings(database_url, tmp_path), clock) as services:
        await services.accounts.create("alice", PASSWORD)
        app = build_http_app(services, lambda: {"http": True})
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            body = await wait_json(client, phone=SUBSCRIBER)
            assert body == {"error": "parameters error", "error_code": 1}
            # and the provider endpoint is off
            assert (await report_call(client, SUBSCRIBER, POOL[0])).status_code == 404


async def test_open_waits_of_one_subscriber_never_share_a_number(
    client: httpx.AsyncClient, clock: ManualClock, accounts: None
) -> None:
    numbers = {}
    for login in ("alice", "bob", "carol"):
        numbers[login] = (await wait_json(client, login, phone=SUBSCRIBER))["phone"]
    assert sorted(numbers.values()) == sorted(POOL)
    # The pool is used up for this subscriber: a fourth account must wait (error 9) ...
    assert await wait_json(client, "dave", phone=SUBSCRIBER) == {
        "error": "too many requests",
        "error_code": 9,
    }
    # ... but another subscriber is not affected, and alice gets her own wait back.
    assert (await wait_json(client, "dave", phone="79161234568"))["phone"] in POOL
    assert (await wait_json(client, "alice", phone=SUBSCRIBER))["phone"] == numbers["alice"]
    await clock.advance(601)  # every wait has expired: the numbers are free again
    assert (await wait_json(client, "dave", phone=SUBSCRIBER))["phone"] in POOL


async def test_a_call_confirms_its_wait_and_reaches_the_handler(
    services: Services,
    client: httpx.AsyncClient,
    clock: ManualClock,
    receiver: CallbackReceiver,
    accounts: None,
) -> None:
    for login in ("alice", "bob"):
        url = receiver.url("fmt=3&charset=utf-8&md5=1")
        await services.accounts.change(
            login, AccountChanges(callback_url=url, callback_secret=SECRET)
        )
    alices = await wait_json(client, "alice", phone=SUBSCRIBER)
    bobs = await wait_json(client, "bob", phone=SUBSCRIBER)
    await clock.advance(30)
    # A call to bob's number from someone else, then from the subscriber to a number outside the
    # pool: nothing.
    assert (await report_call(client, "79031234567", bobs["phone"])).json() == {"confirmed": False}
    assert (await report_call(client, SUBSCRIBER, "79990009999")).json() == {"confirmed": False}
    answer = await report_call(client, "+7 916 123-45-67", "+" + alices["phone"], at=clock.now())
    assert answer.json() == {"confirmed": True, "id": alices["id"]}
    # Confirmed once: the same call reported again (a provider retry) changes nothing.
    again = await report_call(client, SUBSCRIBER, alices["phone"], at=clock.now())
    assert again.json() == {"confirmed": False}
    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()
    [request] = receiver.received
    fields = [(k, v) for k, v in request.fields if k != "md5"]
    assert fields == [
        ("event", "call"),
        ("id", str(alices["id"])),
        ("phone", SUBSCRIBER),
        ("to", alices["phone"]),
        ("time", "24.11.2025 19:00:30"),
        ("ts", str(int(clock.now()))),
    ]
    assert dict(request.fields)["md5"] == expected_signature("md5", fields, "utf-8")
    assert request.headers["x-smsgate-delivery"]


async def test_an_expired_wait_does_nothing(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, accounts: None
) -> None:
    url = "http://127.0.0.1:9/hook"
    await services.accounts.change("alice", AccountChanges(callback_url=url, callback_secret="s"))
    wait = await wait_json(client, phone=SUBSCRIBER)
    await clock.advance(601)
    assert (await report_call(client, SUBSCRIBER, wait["phone"])).json() == {"confirmed": False}
    assert await table_count(services, "callback_deliveries") == 0


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("wrong secret", 401),
        ("no signature", 401),
        ("not json", 400),
        ("stale time", 400),
        ("future time", 400),
        ("no to", 400),
    ],
)
async def test_provider_endpoint_refusals(
    client: httpx.AsyncClient, clock: ManualClock, accounts: None, case: str, status: int
) -> None:
    now = clock.now()
    if case == "wrong secret":
        response = await report_call(client, SUBSCRIBER, POOL[0], secret="guess")
    elif case == "no signature":
        response = await client.post(
            "/providers/calls/incoming", json={"from": SUBSCRIBER, "to": POOL[0]}
        )
    elif case == "not json":
        response = await report_call(client, SUBSCRIBER, POOL[0], body=b"from=1&to=2")
    elif case == "stale time":
        response = await report_call(client, SUBSCRIBER, POOL[0], at=now - 301)
    elif case == "future time":
        response = await report_call(client, SUBSCRIBER, POOL[0], at=now + 301)
    else:
        response = await report_call(client, SUBSCRIBER, POOL[0], body=b'{"from": "1"}')
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


async def test_wait_call_isolation_a_call_confirms_only_the_wait_it_names(
    services: Services, client: httpx.AsyncClient, accounts: None
) -> None:
    alices = await wait_json(client, "alice", phone=SUBSCRIBER)
    bobs = await wait_json(client, "bob", phone=SUBSCRIBER)
    assert alices["id"] != bobs["id"] and alices["phone"] != bobs["phone"]
    confirmed = (await report_call(client, SUBSCRIBER, bobs["phone"])).json()
    assert confirmed == {"confirmed": True, "id": bobs["id"]}
    # Bob's wait is done; alice's is still open and still hers.
    assert (await wait_json(client, "alice", phone=SUBSCRIBER)) == alices
    assert (await wait_json(client, "bob", phone=SUBSCRIBER))["id"] != bobs["id"]
