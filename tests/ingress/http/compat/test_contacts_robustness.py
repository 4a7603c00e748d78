"""Whatever the parameters, phones.php, get.php and info.php answer HTTP 200 with a body."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from tests.support.clock import ManualClock

PARAMS = [
    "add", "add_group", "chg", "chg_group", "move_group", "del", "del_group", "get", "get_group",
    "add_black", "del_black", "get_black", "phone", "mail", "name", "fio", "bd", "grp", "num",
    "type", "new_phone", "new_mail", "search", "after_id", "cnt", "cmt", "tags",
    "get_messages", "get_answers", "get_stat", "get_price", "start", "end", "email", "format",
    "prev_id", "hour", "to_phone", "get_operator", "fmt", "charset",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "3", "-1", "79161234567", "G1", "1;2", "a@b.ru",
                     "24.11.2025", "31.02.2025", "01.01.1970 25:00", "9" * 30, "x" * 1001,
                     "%", "_", "99999999999", "2147483648", "utf-8", "koi8-r", "1,,2",
                     "'; DROP TABLE contacts; --"]),
    st.text(max_size=40),
)  # fmt: skip


@pytest.fixture
async def ready(services: Services) -> Services:
    await services.accounts.create("alice", "password-1", balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    return services


@pytest.mark.parametrize("endpoint", ["phones", "get", "info"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(params=st.dictionaries(st.sampled_from(PARAMS), VALUES, max_size=8))
def test_any_parameters_get_an_answer(
    client: httpx.AsyncClient,
    ready: Services,
    clock: ManualClock,
    endpoint: str,
    params: dict[str, str],
) -> None:
    async def ask() -> httpx.Response:
        await clock.advance(61)  # keep the per-minute limits out of the way
        data = {"login": "alice", "psw": "password-1", **params}
        return await client.post(f"/sys/{endpoint}.php", data=data)

    response = asyncio.get_event_loop().run_until_complete(ask())
    assert response.status_code == 200
    assert response.content
