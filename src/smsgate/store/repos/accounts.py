"""Accounts and their API keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.subclients import ShareType
from smsgate.store.schema import account_policies, accounts, api_keys


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: int
    login: str
    password_hash: str
    smpp_password_hash: str | None
    auth_version: int
    balance: Decimal
    credit_limit: Decimal
    currency: str
    allowed_ips: str
    test_mode: bool
    disabled: bool
    default_sender: str | None
    callback_url: str | None
    callback_secret: str | None
    parent_id: int | None
    tz_minutes: int
    tariff_plan: int
    created_at: float

    @classmethod
    def from_row(cls, row: RowMapping) -> AccountRecord:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    account_id: int
    prefix: str
    name: str
    created_at: float
    revoked_at: float | None


_ACCOUNT_COLUMNS = [accounts.c[name] for name in AccountRecord.__slots__]


async def get_by_login(conn: AsyncConnection, login: str) -> AccountRecord | None:
    row = (
        (await conn.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.login == login.lower())))
        .mappings()
        .first()
    )
    return AccountRecord.from_row(row) if row else None


async def get_by_id(conn: AsyncConnection, account_id: int) -> AccountRecord | None:
    row = (
        (await conn.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.id == account_id)))
        .mappings()
        .first()
    )
    return AccountRecord.from_row(row) if row else None


async def get_by_api_key_hash(conn: AsyncConnection, key_hash: str) -> AccountRecord | None:
    """The account owning an unrevoked key with this hash."""
    query = (
        select(*_ACCOUNT_COLUMNS)
        .join(api_keys, api_keys.c.account_id == accounts.c.id)
        .where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
    )
    row = (await conn.execute(query)).mappings().first()
    return AccountRecord.from_row(row) if row else None


async def list_all(conn: AsyncConnection) -> Sequence[AccountRecord]:
    rows = (await conn.execute(select(*_ACCOUNT_COLUMNS).order_by(accounts.c.id))).mappings()
    return [AccountRecord.from_row(row) for row in rows]


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(accounts))).scalar_one())


async def insert_account(conn: AsyncConnection, **values: Any) -> int:
    result = await conn.execute(insert(accounts).values(**values).returning(accounts.c.id))
    return int(result.scalar_one())


async def update_account(
    conn: AsyncConnection, account_id: int, *, bump_auth: bool, now: float, **values: Any
) -> bool:
    """Change fields of an account; ``bump_auth`` invalidates cached credential checks."""
    statement = update(accounts).where(accounts.c.id == account_id).values(updated_at=now, **values)
    if bump_auth:
        statement = statement.values(auth_version=accounts.c.auth_version + 1)
    result = await conn.execute(statement)
    return result.rowcount == 1


async def add_to_balance(
    conn: AsyncConnection, account_id: int, amount: Decimal, now: float
) -> Decimal | None:
    """Add ``amount`` (may be negative) to the balance atomically; the new balance, or None."""
    statement = (
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(balance=accounts.c.balance + amount, updated_at=now)
        .returning(accounts.c.balance)
    )
    value: Decimal | None = (await conn.execute(statement)).scalar_one_or_none()
    return value


async def payer_of(conn: AsyncConnection, account_id: int) -> int:
    """The account whose balance ``account_id`` spends (its main account's for sub-clients on
    the main balance, users.php ``type`` 2, 3, 4)."""
    row = (
        await conn.execute(
            select(accounts.c.parent_id, account_policies.c.share_type)
            .select_from(
                accounts.outerjoin(account_policies, account_policies.c.account_id == accounts.c.id)
            )
            .where(accounts.c.id == account_id)
        )
    ).first()
    if row is None or row.parent_id is None or row.share_type is None:
        return account_id
    return int(row.parent_id) if ShareType(row.share_type).uses_main_balance else account_id


async def refund(conn: AsyncConnection, amounts: Mapping[int, Decimal], now: float) -> None:
    """Give back what messages of these accounts cost (account id → amount), each to the account
    that paid: a sub-client spending its main account's balance was debited there (services/
    send_rules.py ``payer_id``), so that is where the money returns."""
    credits: dict[int, Decimal] = {}
    for account_id, amount in amounts.items():
        if amount:
            payer = await payer_of(conn, account_id)
            credits[payer] = credits.get(payer, Decimal(0)) + amount
    for payer, amount in credits.items():
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == payer)
            .values(balance=accounts.c.balance + amount, updated_at=now)
        )


async def insert_api_key(
    conn: AsyncConnection, account_id: int, key_hash: str, prefix: str, name: str, now: float
) -> int:
    result = await conn.execute(
        insert(api_keys)
        .values(account_id=account_id, key_hash=key_hash, prefix=prefix, name=name, created_at=now)
        .returning(api_keys.c.id)
    )
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(auth_version=accounts.c.auth_version + 1, updated_at=now)
    )
    return int(result.scalar_one())


async def list_api_keys(conn: AsyncConnection, account_id: int) -> Sequence[ApiKeyRecord]:
    rows = (
        await conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.account_id,
                api_keys.c.prefix,
                api_keys.c.name,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
            )
            .where(api_keys.c.account_id == account_id)
            .order_by(api_keys.c.id)
        )
    ).mappings()
    return [ApiKeyRecord(**row) for row in rows]


async def revoke_api_key(conn: AsyncConnection, account_id: int, key_id: int, now: float) -> bool:
    result = await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.account_id == account_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if result.rowcount != 1:
        return False
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(auth_version=accounts.c.auth_version + 1, updated_at=now)
    )
    return True
