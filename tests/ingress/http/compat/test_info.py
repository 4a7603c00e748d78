"""info.php get_operator: layouts, lists, errors and limits (http-api.md §11, §1.7)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsgate.config import Settings
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from tests.conftest import make_settings
from tests.support.clock import ManualClock

PASSWORD = "password-1"
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
FMTS = ("0", "1", "2", "3")
KAMCHATKA = "79245851234"
GERMANY = "4915112345678"
OPERATOR_ANY = 8


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A lower limit of requests of any kind, so that reaching it takes a handful of requests.
    return make_settings(database_url, tmp_path, SMSGATE_LIMITS_OPERATOR_ANY=str(OPERATOR_ANY))


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    return await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))


async def call(client: httpx.AsyncClient, **params: str) -> str:
    query = {"login": "alice", "psw": PASSWORD, "get_operator": "1", **params}
    response = await client.get("/sys/info.php", params=query)
    assert response.status_code == 200
    assert response.content
    return response.text


async def answer(client: httpx.AsyncClient, **params: str) -> Any:
    return json.loads(await call(client, fmt="3", **params))


RECORD: list[tuple[str, Any]] = [
    ("phone", KAMCHATKA),
    ("country", "RU"),
    ("operator", "МегаФон"),
    ("operator_orig", "МегаФон"),
    ("region", "Камчатский край"),
    ("mcc", "250"),
    ("mnc", "02"),
    ("tz", 9),
]
GERMAN: list[tuple[str, Any]] = [
    ("phone", GERMANY),
    ("country", "DE"),
    ("operator", "T-Mobile"),
    ("operator_orig", "T-Mobile"),
    ("region", ""),
    ("mcc", ""),
    ("mnc", ""),
    ("tz", -2),  # CET in November, Moscow is UTC+3
]


def text_line(record: list[tuple[str, Any]], fmt: str) -> str:
    if fmt == "1":
        return ",".join(str(v) for _, v in record)
    return ", ".join(f"{k} = {v}" for k, v in record)


@pytest.mark.parametrize("fmt", FMTS)
async def test_single_number_is_one_record(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    body = await call(client, phone="8 (924) 585-12-34", fmt=fmt)
    if fmt == "3":
        assert list(json.loads(body).items()) == RECORD
    elif fmt == "2":
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in RECORD)
        assert body == f"{XML}<result>{fields}</result>"
    else:
        assert body == text_line(RECORD, fmt)


@pytest.mark.parametrize("fmt", FMTS)
async def test_a_list_is_the_list_layout(
    client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    body = await call(client, phone=f"{KAMCHATKA},12345,+{GERMANY}", fmt=fmt)
    if fmt == "3":
        assert [list(r.items()) for r in json.loads(body)] == [RECORD, GERMAN]
    elif fmt == "2":
        items = "".join(
            "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in r) + "</item>"
            for r in (RECORD, GERMAN)
        )
        assert body == f"{XML}<list>{items}</list>"
    else:
        assert body == text_line(RECORD, fmt) + "\n" + text_line(GERMAN, fmt)


async def test_trailing_comma_makes_a_list(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    assert [r["phone"] for r in await answer(client, phone=f"{KAMCHATKA},")] == [KAMCHATKA]


async def test_ported_number_shows_both_operators(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await services.numbering.set_port("79161234567", "Билайн")
    record = await answer(client, phone="79161234567")
    assert (record["operator"], record["operator_orig"], record["mnc"]) == ("Билайн", "МТС", "99")


ERRORS = [
    ({"phone": "12345"}, 3),
    ({"phone": "79001234567"}, 3),  # outside every range of the plan: no operator
    ({"phone": "12345,abc"}, 3),
    ({"phone": ""}, 1),
    ({"phone": ",".join(str(79160000000 + i) for i in range(101))}, 1),
    ({"phone": KAMCHATKA, "get_operator": "0"}, 1),
]


@pytest.mark.parametrize(("params", "code"), ERRORS)
async def test_errors(
    client: httpx.AsyncClient, alice: AccountRecord, params: dict[str, str], code: int
) -> None:
    assert (await answer(client, **params))["error_code"] == code


ERROR_3 = {
    "0": "ERROR = 3 (operator not found)",
    "1": "0,-3",
    "2": f"{XML}<result><error>operator not found</error><error_code>3</error_code></result>",
    "3": '{"error": "operator not found", "error_code": 3}',
}


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_3_layouts(client: httpx.AsyncClient, alice: AccountRecord, fmt: str) -> None:
    assert await call(client, phone="12345", fmt=fmt) == ERROR_3[fmt]


async def test_hundred_numbers_are_allowed(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    phones = ",".join(str(79160000000 + i) for i in range(100))
    assert len(await answer(client, phone=phones)) == 100


async def test_fourth_identical_request_is_error_9(
    client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    for _ in range(3):
        assert (await answer(client, phone=KAMCHATKA))["country"] == "RU"
    assert (await answer(client, phone=KAMCHATKA))["error_code"] == 9
    assert (await answer(client, phone=GERMANY))["country"] == "DE"
    await clock.advance(61)
    assert (await answer(client, phone=KAMCHATKA))["country"] == "RU"


async def test_too_many_requests_of_any_kind_is_error_9(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    for i in range(OPERATOR_ANY):
        assert (await answer(client, phone=str(79160000000 + i)))["country"] == "RU"
    assert (await answer(client, phone="79160000099"))["error_code"] == 9
