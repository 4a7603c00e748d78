"""Whatever the parameters, the compatible API answers HTTP 200 with a body, never a 500."""

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
    "phones", "mes", "id", "sender", "translit", "time", "tz", "period", "freq", "valid",
    "maxsms", "flash", "bin", "push", "hlr", "ping", "mail", "call", "viber", "tg", "bot",
    "subj", "list", "cost", "op", "err", "fmt", "charset", "all", "del", "test", "voice",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "3", "-1", "79161234567", "G1", "+60", "0103251230",
                     "__HLR__", "a\n~~~\npid: 0x40", "x" * 1001, "utf-8", "koi8-r", "%"]),
    st.text(max_size=40),
)  # fmt: skip


@pytest.fixture
async def ready(services: Services) -> Services:
    await services.accounts.create("alice", "password-1", balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    return services


@pytest.mark.parametrize("endpoint", ["send", "status", "balance"])
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
