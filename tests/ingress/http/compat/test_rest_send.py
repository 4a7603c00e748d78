"""/rest/send/: send.php with a JSON body (http-api.md §2.11)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services

PASSWORD = "password-1"


@pytest.fixture
async def alice(services: Services) -> str:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("2.50")))
    return "alice"


async def test_json_body_defaults_to_fmt_3(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/rest/send/",
        json={
            "login": alice,
            "psw": PASSWORD,
            "phones": ["79161234567", 79261234567],
            "mes": "Привет",
            "cost": 3,
            "op": True,
        },
    )
    body = response.json()
    assert body["cnt"] == 2 and body["cost"] == "5.00" and body["balance"] == "95.00"
    assert [p["phone"] for p in body["phones"]] == ["79161234567", "79261234567"]


async def test_list_object(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/rest/send/",
        json={
            "login": alice,
            "psw": PASSWORD,
            "list": {"79161234567": "first: text", "79261234567": "second"},
            "fmt": 1,
        },
    )
    assert response.text.split(",")[1] == "2"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"login": "alice"', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"login=alice", "application/x-www-form-urlencoded"),
        (b'{"login": "alice", "phones": {"a": 1}}', "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
async def test_malformed_bodies_are_error_1(
    client: httpx.AsyncClient, alice: str, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/rest/send/", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == 200
    assert response.json() == {"error": "parameters error", "error_code": 1}


async def test_get_is_not_allowed(client: httpx.AsyncClient) -> None:
    assert (await client.get("/rest/send/")).status_code == 405
