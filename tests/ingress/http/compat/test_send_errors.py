"""send.php request errors: every code in every fmt layout, and nothing stored (http-api.md §1.5, §2.5).

Each code 1–9 is checked against the literal error envelope of all four ``fmt`` values; the many causes
of errors 1 and 5 are checked once each in fmt 1, the layout the official libraries parse. A refused
request stores no message and leaves the balance as it was.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from smsgate.domain.pricing import TariffRule
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.store.repos.accounts import AccountRecord
from smsgate.store.schema import accounts, messages
from tests.conftest import ClientFactory
from tests.support.clock import ManualClock

PASSWORD = "password-1"
PRICE = Decimal("2.50")
MTS, MEGAFON = "79161234567", "79261234567"
INVALID = "79001234567"  # +7 900 outside every range of the demo numbering plan: 22 / 249
FMTS = ("0", "1", "2", "3")
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
DESCRIPTIONS = {
    1: "parameters error",
    2: "authorise error",
    3: "not enough money",
    4: "IP is temporarily blocked",
    5: "invalid date format",
    6: "message is forbidden",
    7: "invalid phone number",
    8: "can't to deliver",
    9: "duplicate request, wait a minute",
}


@pytest.fixture
async def alice(services: Services) -> AccountRecord:
    account = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.tariffs.set(TariffRule(price=PRICE))
    await services.senders.add(account, "Shop", approve=True)
    return account


def envelope(fmt: str, code: int, request_id: int | str | None = None) -> str:
    """The error envelope of http-api.md §1.5, written out independently of the product."""
    text = DESCRIPTIONS[code]
    if fmt == "0":
        return f"ERROR = {code} ({text})" + ("" if request_id is None else f", ID - {request_id}")
    if fmt == "1":
        return f"{0 if request_id is None else request_id},-{code}"
    if fmt == "2":
        tail = "" if request_id is None else f"<id>{request_id}</id>"
        return f"{XML}<result><error>{text}</error><error_code>{code}</error_code>{tail}</result>"
    body: dict[str, object] = {"error": text, "error_code": code}
    if request_id is not None:
        body["id"] = request_id
    return json.dumps(body, ensure_ascii=False)


async def send(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    """GET send.php as alice to one MTS number, with ``params`` added or overriding."""
    query = {"login": "alice", "psw": PASSWORD, "phones": MTS, "mes": "Hello", **params}
    response = await client.get("/sys/send.php", params=query)
    assert response.status_code == 200
    assert response.content, "official clients treat an empty body as a transport failure"
    return response


async def ledger(services: Services) -> tuple[int, Decimal]:
    """(messages stored, alice's balance)."""
    async with services.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
        balance = (
            await conn.execute(select(accounts.c.balance).where(accounts.c.login == "alice"))
        ).scalar_one()
    return int(count), Decimal(balance)


NOTHING_DONE = (0, Decimal("100"))


# --- every code in every layout ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_1_layout(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    response = await send(client, flash="1", hlr="1", fmt=fmt)
    assert response.text == envelope(fmt, 1)
    assert await ledger(services) == NOTHING_DONE


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_2_layout(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    assert (await send(client, psw="wrong-password", fmt=fmt)).text == envelope(fmt, 2)
    assert (await send(client, login="nobody", fmt=fmt)).text == envelope(fmt, 2)
    assert await ledger(services) == NOTHING_DONE


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_3_layout_carries_the_allocated_id(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    await services.accounts.top_up("alice", Decimal("-99"))  # 1.00 left, 2.50 needed
    assert (await send(client, fmt=fmt)).text == envelope(fmt, 3, 1)
    assert await ledger(services) == (0, Decimal("1"))


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_3_layout_carries_the_client_id(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    await services.accounts.top_up("alice", Decimal("-99"))
    await services.accounts.change("alice", AccountChanges(credit_limit=Decimal("1.49")))
    # 1.00 + 1.49 of credit is still short of 2.50.
    assert (await send(client, id="order-7", fmt=fmt)).text == envelope(fmt, 3, "order-7")
    assert (await send(client, id="2024", fmt=fmt)).text == envelope(fmt, 3, 2024)
    assert await ledger(services) == (0, Decimal("1"))


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_4_layout_after_five_failed_logins(
    services: Services, make_client: ClientFactory, alice: AccountRecord, fmt: str
) -> None:
    attacker = make_client("203.0.113.9")
    for _ in range(5):
        assert (await send(attacker, psw="guess", fmt="1")).text == "0,-2"
    # Checked before authentication: even the right password is refused from that IP.
    assert (await send(attacker, fmt=fmt)).text == envelope(fmt, 4)
    assert await ledger(services) == NOTHING_DONE
    # Other addresses are not affected.
    assert (await send(make_client("203.0.113.10"), fmt="1")).text == "1,1"


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_5_layout(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    assert (await send(client, time="3299991230", fmt=fmt)).text == envelope(fmt, 5)
    assert await ledger(services) == NOTHING_DONE


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_6_layout_unapproved_sender(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    await services.senders.add(alice, "Pending")  # alphanumeric: waits for approval
    assert (await send(client, sender="Nope", fmt=fmt)).text == envelope(fmt, 6, 1)
    assert (await send(client, sender="Pending", fmt=fmt)).text == envelope(fmt, 6, 2)
    assert (await send(client, sender="Nope", id="abc", fmt=fmt)).text == envelope(fmt, 6, "abc")
    assert await ledger(services) == NOTHING_DONE


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_7_layout_all_numbers_invalid(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    phones = f"{INVALID},12345,+7 (900) 111-22-33"
    assert (await send(client, phones=phones, fmt=fmt)).text == envelope(fmt, 7, 1)
    assert (await send(client, phones=INVALID, id="77", fmt=fmt)).text == envelope(fmt, 7, 77)
    assert await ledger(services) == NOTHING_DONE


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_8_layout_no_route(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, fmt: str
) -> None:
    assert await services.tariffs.delete(TariffRule(price=PRICE))
    assert (await send(client, fmt=fmt)).text == envelope(fmt, 8, 1)
    # Invalid numbers mixed with unroutable ones: not *all* invalid, so still 8.
    phones = f"{MTS},{INVALID}"
    assert (await send(client, phones=phones, id="x-1", fmt=fmt)).text == envelope(fmt, 8, "x-1")
    assert await ledger(services) == NOTHING_DONE


@pytest.mark.parametrize("fmt", FMTS)
async def test_error_9_layout_identical_send_within_a_minute(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    clock: ManualClock,
    fmt: str,
) -> None:
    assert (await send(client, fmt="1")).text == "1,1"
    # fmt and charset do not make a request different.
    await clock.advance(59)
    assert (await send(client, fmt=fmt, charset="utf-8")).text == envelope(fmt, 9)
    assert await ledger(services) == (1, Decimal("97.50"))
    await clock.advance(2)
    assert (await send(client, fmt="1")).text == "2,1"


# --- the many causes of error 1 and 5 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        pytest.param({"flash": "1", "hlr": "1"}, 1, id="two-type-flags"),
        pytest.param({"bin": "2", "call": "1"}, 1, id="bin-and-call"),
        pytest.param({"mes": ""}, 1, id="empty-mes"),
        pytest.param({"mes": "~~~\nonly a comment"}, 1, id="empty-after-comment"),
        pytest.param({"mes": "a" * 1001}, 1, id="mes-1001-latin"),
        pytest.param({"mes": "я" * 1001}, 1, id="mes-1001-cyrillic"),
        pytest.param({"phones": ""}, 1, id="no-phones"),
        pytest.param({"phones": "G1"}, 1, id="unknown-group"),
        pytest.param({"phones": f"{MTS},G12"}, 1, id="group-in-a-list"),
        pytest.param({"id": "2147483648"}, 1, id="id-over-int32"),
        pytest.param({"id": "a b"}, 1, id="id-with-space"),
        pytest.param({"id": "x" * 41}, 1, id="id-41-chars"),
        pytest.param({"id": "order#1"}, 1, id="id-bad-char"),
        pytest.param({"cost": "4"}, 1, id="cost-4"),
        pytest.param({"cost": "x"}, 1, id="cost-not-a-number"),
        pytest.param({"valid": "25"}, 1, id="valid-25-hours"),
        pytest.param({"valid": "0"}, 1, id="valid-0"),
        pytest.param({"valid": "25:00"}, 1, id="valid-25-00"),
        pytest.param({"translit": "3"}, 1, id="translit-3"),
        pytest.param({"maxsms": "0"}, 1, id="maxsms-0"),
        pytest.param({"maxsms": "two"}, 1, id="maxsms-text"),
        pytest.param({"mes": "__HLR__", "flash": "1"}, 1, id="prefix-contradicts-flag"),
        pytest.param({"whatsapp": "1"}, 1, id="whatsapp"),
        pytest.param({"bot": "wa:shop"}, 1, id="whatsapp-bot"),
        pytest.param({"charset": "latin-1"}, 1, id="unknown-charset"),
        pytest.param({"time": "3299991230"}, 5, id="time-day-32"),
        pytest.param({"time": "3102261200"}, 5, id="time-31-february"),
        pytest.param({"time": "abc"}, 5, id="time-abc"),
        pytest.param({"time": "+600000"}, 5, id="time-over-a-year"),
        pytest.param({"tz": "12"}, 5, id="tz-out-of-range"),
        pytest.param({"tz": "x"}, 5, id="tz-junk"),
    ],
)
async def test_request_errors_store_nothing(
    services: Services,
    client: httpx.AsyncClient,
    alice: AccountRecord,
    params: dict[str, str],
    code: int,
) -> None:
    assert (await send(client, fmt="1", **params)).text == f"0,-{code}"
    assert await ledger(services) == NOTHING_DONE
    # No id was used up either: the next good request gets the first one.
    assert (await send(client, fmt="1")).text == "1,1"


async def test_bad_fmt_is_error_1_in_fmt_0(client: httpx.AsyncClient, alice: AccountRecord) -> None:
    assert (await send(client, fmt="4")).text == "ERROR = 1 (parameters error)"


async def test_authentication_comes_before_validation(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    response = await send(client, psw="wrong-password", flash="1", hlr="1", time="abc", fmt="1")
    assert response.text == "0,-2"


# --- error 3: balance + credit limit (§2.5, §2.10) ------------------------------------------------


async def test_credit_limit_counts_toward_the_money_check(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await services.accounts.top_up("alice", Decimal("-99"))
    await services.accounts.change("alice", AccountChanges(credit_limit=Decimal("1.50")))
    # 1.00 + 1.50 of credit is exactly 2.50: allowed, down to -credit.
    assert (await send(client, cost="3", fmt="1")).text == "1,1,2.50,-1.50"
    assert (await send(client, mes="Again", fmt="1")).text == "2,-3"
    assert await ledger(services) == (1, Decimal("-1.50"))


async def test_balance_never_goes_below_the_credit_limit(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await services.accounts.change("alice", AccountChanges(credit_limit=Decimal("10")))
    # 2 × 15 parts + 2 × 7 parts = 44 parts = 110.00 = balance + credit exactly.
    text = f"79160000001,79160000002:{'я' * 1000}\n79160000003,79160000004:{'a' * 1000}"
    assert (await send(client, list=text, cost="3", fmt="1")).text == "1,44,110.00,-10.00"
    assert (await send(client, mes="One more", fmt="1")).text == "2,-3"
    assert (await send(client, mes="One more", test="1", fmt="1")).text == "3,1"
    assert await ledger(services) == (5, Decimal("-10"))


async def test_concurrent_sends_never_overdraw(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    await services.accounts.top_up("alice", Decimal("-90"))  # room for exactly 4 messages
    replies = await asyncio.gather(
        *(send(client, phones=f"7916000000{i}", fmt="1") for i in range(6))
    )
    codes = sorted(reply.text.split(",")[1] for reply in replies)
    assert codes == ["-3", "-3", "1", "1", "1", "1"]
    assert await ledger(services) == (4, Decimal(0))


# --- duplicates and rate limits ---------------------------------------------------------------


async def test_sixth_identical_price_request_is_error_9(
    client: httpx.AsyncClient, alice: AccountRecord, clock: ManualClock
) -> None:
    for _ in range(5):
        assert (await send(client, cost="1", fmt="1")).text == "2.50,1"
    assert (await send(client, cost="1", fmt="1")).text == "0,-9"
    assert (await send(client, cost="1", fmt="3")).json()["error_code"] == 9
    # A different text is a different request, and a minute later the same one passes again.
    assert (await send(client, cost="1", mes="Other", fmt="1")).text == "2.50,1"
    await clock.advance(61)
    assert (await send(client, cost="1", fmt="1")).text == "2.50,1"


async def test_price_requests_do_not_count_as_sends(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert (await send(client, cost="1", fmt="1")).text == "2.50,1"
    assert (await send(client, fmt="1")).text == "1,1"


async def test_refused_requests_are_not_duplicates(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert (await send(client, phones=INVALID, fmt="1")).text == "1,-7"
    assert (await send(client, phones=INVALID, fmt="1")).text == "2,-7"
    await services.accounts.top_up("alice", Decimal("-99"))
    assert (await send(client, fmt="1")).text == "3,-3"
    await services.accounts.top_up("alice", Decimal("99"))
    # The client retries the very same request once it has paid: it is not a duplicate.
    assert (await send(client, fmt="1")).text == "4,1"


async def test_same_text_in_another_charset_is_a_duplicate(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    """ "Identical" compares decoded values and ignores ``charset`` (http-api.md §1.7)."""
    text = "Привет"
    utf8 = "".join(f"%{b:02X}" for b in text.encode("utf-8"))
    cp1251 = "".join(f"%{b:02X}" for b in text.encode("windows-1251"))
    base = f"/sys/send.php?login=alice&psw={PASSWORD}&phones={MTS}&fmt=1"
    assert (await client.get(f"{base}&mes={utf8}&charset=utf-8")).text == "1,1"
    assert (await client.get(f"{base}&mes={cp1251}&charset=windows-1251")).text == "0,-9"


# --- price-only (cost=1) errors ---------------------------------------------------------------


async def test_price_only_errors_carry_no_id(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert (await send(client, cost="1", sender="Nope", fmt="1")).text == "0,-6"
    assert (await send(client, cost="1", sender="Nope", fmt="3")).text == envelope("3", 6)
    assert (await send(client, cost="1", time="abc", fmt="1")).text == "0,-5"
    assert await ledger(services) == NOTHING_DONE
    assert (await send(client, fmt="1")).text == "1,1"  # no id was allocated


@pytest.mark.parametrize(("phones", "code"), [(INVALID, 7), (f"{MTS},{INVALID}", 8)])
async def test_price_only_with_no_accepted_recipient_is_an_error(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord, phones: str, code: int
) -> None:
    if code == 8:
        assert await services.tariffs.delete(TariffRule(price=PRICE))
    assert (await send(client, phones=phones, cost="1", fmt="1")).text == f"0,-{code}"


async def test_validation_comes_before_the_price_rate_limit(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    for _ in range(6):
        assert (await send(client, cost="1", time="abc", fmt="1")).text == "0,-5"


# --- the 1000-character limit applies to `mes` as sent ------------------------------------------


async def test_transliteration_may_make_the_text_longer_than_1000(
    client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    # "щ" → "sch": 1200 GSM-7 characters, 8 parts.
    assert (await send(client, mes="щ" * 400, translit="1", fmt="1")).text == "1,8"


async def test_maxsms_does_not_lift_the_1000_character_limit(
    services: Services, client: httpx.AsyncClient, alice: AccountRecord
) -> None:
    assert (await send(client, mes="a" * 1500, maxsms="1", fmt="1")).text == "0,-1"
    assert await ledger(services) == NOTHING_DONE
