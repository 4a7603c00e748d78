"""Whatever the parameters, the compatible API (send, status, balance, phones, get, info,
tinyurls, wait_call) answers HTTP 200 with a body, never a 500."""

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

SEND_PARAMS = [
    "phones", "mes", "id", "sender", "translit", "time", "tz", "period", "freq", "valid",
    "maxsms", "flash", "bin", "push", "hlr", "ping", "mail", "call", "viber", "tg", "bot",
    "subj", "list", "cost", "op", "err", "fmt", "charset", "all", "del", "test", "voice",
]  # fmt: skip
SEND_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "3", "-1", "79161234567", "G1", "+60", "0103251230",
                     "__HLR__", "a\n~~~\npid: 0x40", "x" * 1001, "utf-8", "koi8-r", "%"]),
    st.text(max_size=40),
)  # fmt: skip

CONTACTS_PARAMS = [
    "add", "add_group", "chg", "chg_group", "move_group", "del", "del_group", "get", "get_group",
    "add_black", "del_black", "get_black", "phone", "mail", "name", "fio", "bd", "grp", "num",
    "type", "new_phone", "new_mail", "search", "after_id", "cnt", "cmt", "tags",
    "get_messages", "get_answers", "get_stat", "get_price", "start", "end", "email", "format",
    "prev_id", "hour", "to_phone", "get_operator", "fmt", "charset",
]  # fmt: skip
CONTACTS_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "3", "-1", "79161234567", "G1", "1;2", "a@b.ru",
                     "24.11.2025", "31.02.2025", "01.01.1970 25:00", "9" * 30, "x" * 1001,
                     "%", "_", "99999999999", "2147483648", "utf-8", "koi8-r", "1,,2",
                     "'; DROP TABLE contacts; --"]),
    st.text(max_size=40),
)  # fmt: skip

LINK_PARAMS = ["get", "link", "id", "phone", "fmt", "charset"]  # tinyurls, wait_call (issue 7)
LINK_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "79161234567", "https://a.example/", "http://x/l/AbC",
                     "AbCdEf12", "9" * 30, "x" * 1001, "%", "1,2", "utf-8", "koi8-r"]),
    st.text(max_size=40),
)  # fmt: skip

# Each endpoint draws from the parameters and values that matter to it.
POOLS = {
    "send": (SEND_PARAMS, SEND_VALUES),
    "status": (SEND_PARAMS, SEND_VALUES),
    "balance": (SEND_PARAMS, SEND_VALUES),
    "phones": (CONTACTS_PARAMS, CONTACTS_VALUES),
    "get": (CONTACTS_PARAMS, CONTACTS_VALUES),
    "info": (CONTACTS_PARAMS, CONTACTS_VALUES),
    "tinyurls": (LINK_PARAMS, LINK_VALUES),
    "wait_call": (LINK_PARAMS, LINK_VALUES),
}


@pytest.fixture
async def ready(services: Services) -> Services:
    await services.accounts.create("alice", "password-1", balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    return services


@pytest.mark.parametrize("endpoint", sorted(POOLS))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_parameters_get_an_answer(
    client: httpx.AsyncClient,
    ready: Services,
    clock: ManualClock,
    endpoint: str,
    data: st.DataObject,
) -> None:
    names, values = POOLS[endpoint]
    params = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=8))

    async def ask() -> httpx.Response:
        await clock.advance(61)  # keep the per-minute limits out of the way
        form = {"login": "alice", "psw": "password-1", **params}
        return await client.post(f"/sys/{endpoint}.php", data=form)

    response = asyncio.get_event_loop().run_until_complete(ask())
    assert response.status_code == 200
    assert response.content
