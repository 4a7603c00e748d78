"""ping.php: monitoring task groups send their filled templates as ordinary messages (issue 8)."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import select

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.services.monitoring import NewGroup
from smsgate.store.schema import messages
from tests.support.clock import ManualClock

PASSWORD = "password-1"


async def setup(services: Services) -> int:
    for login in ("ops", "other"):
        await services.accounts.create(login, PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    group = await services.monitoring.create(
        "ops",
        NewGroup(
            name="web",
            phones="79161234567,79161234568",
            fail_template="DOWN {NAME}@{HOST}: {INFO}",
            ok_template="UP {NAME}@{HOST}",
            quiet_s=300,
        ),
    )
    return group.id


async def ping(client: httpx.AsyncClient, login: str = "ops", **params: str) -> dict[str, object]:
    data = {"login": login, "psw": PASSWORD, "fmt": "3", **params}
    answer = await client.get("/sys/ping.php", params=data)
    assert answer.status_code == 200
    body = answer.json()
    assert isinstance(body, dict)
    return body


async def texts(services: Services) -> list[str]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(messages.c.text).order_by(messages.c.id))
        return [str(text) for (text,) in rows]


async def test_failure_and_recovery_templates_go_to_the_contacts(
    services: Services, client: httpx.AsyncClient
) -> None:
    group_id = await setup(services)
    assert await ping(client, id=str(group_id), name="shop", host="10.1.1.1", info="HTTP 502") == {
        "result": "OK"
    }
    assert await ping(client, id=str(group_id), name="shop", host="10.1.1.1", ok="1") == {
        "result": "OK"
    }
    assert await texts(services) == ["DOWN shop@10.1.1.1: HTTP 502"] * 2 + ["UP shop@10.1.1.1"] * 2
    balance = (await services.accounts.get("ops")).balance
    assert balance == Decimal("96")  # ordinary charged messages


async def test_duplicates_inside_the_quiet_period_are_not_sent_again(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    group_id = await setup(services)
    for _ in range(3):
        await ping(client, id=str(group_id), name="db", info="down")
    await ping(client, id=str(group_id), name="db", info="still down")  # different: sent
    assert len(await texts(services)) == 4
    await clock.advance(301)
    await ping(client, id=str(group_id), name="db", info="down")
    assert len(await texts(services)) == 6


async def test_unknown_or_foreign_group_is_error_3(
    services: Services, client: httpx.AsyncClient
) -> None:
    group_id = await setup(services)
    expected = {"error": "task group not found", "error_code": 3}
    assert await ping(client, id=str(group_id + 1)) == expected
    assert await ping(client, login="other", id=str(group_id)) == expected  # tenant isolation
    assert await texts(services) == []


async def test_bad_parameters_are_error_1(services: Services, client: httpx.AsyncClient) -> None:
    group_id = await setup(services)
    for params in ({"id": ""}, {"id": "abc"}, {"id": str(group_id), "ok": "2"}):
        body = await ping(client, **params)
        assert body["error_code"] == 1, params
    answer = await client.get(
        "/sys/ping.php", params={"login": "ops", "psw": PASSWORD, "id": str(group_id), "fmt": "0"}
    )
    assert answer.text == "OK"


async def test_no_money_is_error_3_and_the_ping_can_be_sent_again(
    services: Services, client: httpx.AsyncClient
) -> None:
    group_id = await setup(services)
    await services.accounts.top_up("ops", Decimal("-100"))
    body = await ping(client, id=str(group_id), name="x")
    assert body["error_code"] == 3 and body["error"] == "not enough money"
    await services.accounts.top_up("ops", Decimal("100"))
    assert await ping(client, id=str(group_id), name="x") == {"result": "OK"}
