"""Account administration rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from smsgate.services.accounts import AccountChanges, AccountError
from smsgate.services.container import Services


async def test_create_and_read_back(services: Services) -> None:
    record = await services.accounts.create(
        "Shop.Owner", "password-1", balance=Decimal("12.345"), test_mode=True
    )
    assert record.login == "shop.owner"
    assert record.balance == Decimal("12.3450")
    assert record.test_mode and record.currency == "RUR"
    assert record.callback_secret and len(record.callback_secret) == 32
    assert record.password_hash.startswith("$argon2id$")
    assert "password-1" not in record.password_hash


@pytest.mark.parametrize("login", ["", "a b", "x'--", "-lead", "a" * 65])
async def test_invalid_logins_are_refused(services: Services, login: str) -> None:
    with pytest.raises(AccountError):
        await services.accounts.create(login, "password-1")


async def test_taken_login_and_short_password(services: Services) -> None:
    await services.accounts.create("alice", "password-1")
    with pytest.raises(AccountError, match="taken"):
        await services.accounts.create("ALICE", "password-2")
    with pytest.raises(AccountError, match="at least 8"):
        await services.accounts.create("bob", "short")


async def test_change_fields(services: Services) -> None:
    await services.accounts.create("alice", "password-1")
    record = await services.accounts.change(
        "alice",
        AccountChanges(
            allowed_ips="10.0.0.1 192.168.0.0/16",
            callback_url="https://example.com/hook",
            callback_secret="s",
            test_mode=True,
            credit_limit=Decimal("100"),
            default_sender="Shop",
        ),
    )
    assert record.allowed_ips == "10.0.0.1/32,192.168.0.0/16"
    assert record.callback_url == "https://example.com/hook"
    assert record.test_mode and record.credit_limit == Decimal("100.0000")
    assert record.default_sender == "Shop"
    cleared = await services.accounts.change(
        "alice", AccountChanges(allowed_ips="", default_sender="")
    )
    assert cleared.allowed_ips == "" and cleared.default_sender is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (AccountChanges(allowed_ips="10.0.0.300"), "not an IP"),
        (AccountChanges(callback_url="ftp://x"), "http"),
        (AccountChanges(smpp_password="123456789"), "1 to 8"),
        (AccountChanges(credit_limit=Decimal(-1)), "negative"),
    ],
)
async def test_invalid_changes(services: Services, changes: AccountChanges, message: str) -> None:
    await services.accounts.create("alice", "password-1")
    with pytest.raises(AccountError, match=message):
        await services.accounts.change("alice", changes)


async def test_top_up_is_exact_decimal(services: Services) -> None:
    await services.accounts.create("alice", "password-1", balance=Decimal("0.1"))
    assert await services.accounts.top_up("alice", Decimal("0.2")) == Decimal("0.3000")
    assert await services.accounts.top_up("alice", Decimal("-1.05")) == Decimal("-0.7500")


async def test_unknown_account(services: Services) -> None:
    with pytest.raises(AccountError, match="no account"):
        await services.accounts.top_up("ghost", Decimal(1))
