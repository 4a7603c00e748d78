"""Authentication: password forms, API keys, the verification cache, SMPP passwords."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from smsgate.domain.codes import RequestErrorCode
from smsgate.errors import RequestError
from smsgate.services.accounts import AccountChanges
from smsgate.services.auth import BindRefusal, BindRefused, Credentials
from smsgate.services.container import Services
from tests.support.clock import ManualClock

PASSWORD = "s3cret-password"
IP = "192.0.2.1"


@pytest.fixture
async def alice(services: Services) -> str:
    await services.accounts.create("alice", PASSWORD, balance=Decimal(5))
    return "alice"


async def test_plain_and_md5_forms_verify(services: Services, alice: str) -> None:
    md5 = hashlib.md5(PASSWORD.encode(), usedforsecurity=False).hexdigest()
    for psw in (PASSWORD, md5, md5.upper()):
        account = await services.auth.authenticate(Credentials(login=alice, psw=psw), IP)
        assert account.login == alice


async def test_a_password_that_looks_like_md5_is_tried_both_ways(services: Services) -> None:
    hexlike = "0123456789abcdef0123456789abcdef"
    await services.accounts.create("hexy", hexlike)
    account = await services.auth.authenticate(Credentials(login="hexy", psw=hexlike), IP)
    assert account.login == "hexy"


async def test_success_is_cached_and_dropped_on_change(
    services: Services, clock: ManualClock, alice: str
) -> None:
    creds = Credentials(login=alice, psw=PASSWORD)
    account = await services.auth.authenticate(creds, IP)
    key = services.auth.cache.key("password", alice, PASSWORD)
    assert services.auth.cache.hit(key, account)
    # Any change to authentication bumps auth_version: the old entry no longer matches.
    changed = await services.accounts.change(alice, AccountChanges(allowed_ips="192.0.2.0/24"))
    assert changed.auth_version == account.auth_version + 1
    assert not services.auth.cache.hit(key, changed)
    # Entries expire after auth.cache_ttl.
    account = await services.auth.authenticate(creds, IP)
    assert services.auth.cache.hit(key, account)
    await clock.advance(services.settings.auth.cache_ttl + 1)
    assert not services.auth.cache.hit(key, account)


async def test_failures_are_not_cached(services: Services, alice: str) -> None:
    with pytest.raises(RequestError) as failed:
        await services.auth.authenticate(Credentials(login=alice, psw="nope-nope"), IP)
    assert failed.value.code is RequestErrorCode.AUTHORISE
    account = await services.accounts.get(alice)
    assert not services.auth.cache.hit(
        services.auth.cache.key("password", alice, "nope-nope"), account
    )


async def test_new_api_key_revocation_and_listing(services: Services, alice: str) -> None:
    first, key1 = await services.accounts.new_api_key(alice, "shop")
    second, key2 = await services.accounts.new_api_key(alice)
    assert key1 != key2 and key1.startswith("sg_")
    for key in (key1, key2):
        assert (await services.auth.authenticate(Credentials(apikey=key), IP)).login == alice
    await services.accounts.revoke_api_key(alice, first.id)
    with pytest.raises(RequestError):
        await services.auth.authenticate(Credentials(apikey=key1), IP)
    assert (await services.auth.authenticate(Credentials(apikey=key2), IP)).login == alice
    keys = await services.accounts.api_keys(alice)
    assert [(k.id, k.revoked_at is not None) for k in keys] == [
        (first.id, True),
        (second.id, False),
    ]
    # Keys are stored hashed: the key itself appears nowhere in the store.
    async with services.db.read() as conn:
        from sqlalchemy import text

        rows = (await conn.execute(text("SELECT key_hash, prefix FROM api_keys"))).all()
    assert all(key1 not in (h, p) and key2 not in (h, p) for h, p in rows)


async def refusal(services: Services, login: str, password: str, ip: str) -> BindRefusal:
    with pytest.raises(BindRefused) as refused:
        await services.auth.bind_smpp(login, password, ip)
    return refused.value.refusal


async def test_smpp_password_is_separate(services: Services, alice: str) -> None:
    await services.accounts.change(alice, AccountChanges(allowed_ips=IP))
    # No SMPP password set: SMPP is off for the account.
    assert await refusal(services, alice, PASSWORD, IP) is BindRefusal.ACCESS_OFF
    await services.accounts.change(alice, AccountChanges(smpp_password="smpp1234"))
    assert (await services.auth.bind_smpp(alice, "smpp1234", IP)).login == alice
    assert await refusal(services, alice, PASSWORD, IP) is BindRefusal.BAD_CREDENTIALS
    assert await refusal(services, "nobody", "smpp1234", IP) is BindRefusal.BAD_CREDENTIALS
    with pytest.raises(RequestError):  # and the SMPP password is no HTTP password
        await services.auth.authenticate(Credentials(login=alice, psw="smpp1234"), IP)


async def test_smpp_needs_the_address_on_the_allow_list(services: Services, alice: str) -> None:
    await services.accounts.change(alice, AccountChanges(smpp_password="smpp1234"))
    # An empty allow-list refuses SMPP (protocols.md §3.2).
    assert await refusal(services, alice, "smpp1234", IP) is BindRefusal.IP_NOT_ALLOWED
    await services.accounts.change(alice, AccountChanges(allowed_ips="198.51.100.0/24"))
    assert await refusal(services, alice, "smpp1234", IP) is BindRefusal.IP_NOT_ALLOWED
    assert (await services.auth.bind_smpp(alice, "smpp1234", "198.51.100.7")).login == alice


async def test_smpp_binds_share_the_ip_lockout(services: Services, alice: str) -> None:
    await services.accounts.change(alice, AccountChanges(smpp_password="smpp1234"))
    for _ in range(5):
        assert await refusal(services, alice, "wrong", "192.0.2.99") is BindRefusal.BAD_CREDENTIALS
    with pytest.raises(RequestError) as blocked:
        await services.auth.authenticate(Credentials(login=alice, psw=PASSWORD), "192.0.2.99")
    assert blocked.value.code is RequestErrorCode.IP_BLOCKED
    assert await refusal(services, alice, "smpp1234", "192.0.2.99") is BindRefusal.LOCKED_OUT


async def test_concurrent_checks_of_the_same_credentials_share_one_verification(
    services: Services, alice: str
) -> None:
    """When the cache is cold under load, every waiting request gets the one check's answer."""
    import asyncio

    good = Credentials(login=alice, psw=PASSWORD)
    accounts = await asyncio.gather(*(services.auth.authenticate(good, IP) for _ in range(20)))
    assert {a.login for a in accounts} == {alice}
    bad = Credentials(login=alice, psw="not-the-password")
    results = await asyncio.gather(
        *(services.auth.authenticate(bad, "192.0.2.200") for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, RequestError) for r in results)
