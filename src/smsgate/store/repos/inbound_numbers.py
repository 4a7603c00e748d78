"""Inbound (rented) numbers: the admin's catalogue, renting, renewal (http-api.md §12).

Every change of a number and the money it costs happen in the caller's transaction. The number's
row is locked first (PostgreSQL; SQLite transactions are serial), then the payer's balance is
debited by one conditional UPDATE (the balance may not go below ``-credit_limit``), so two accounts
buying the same number, or two nodes renewing it, cannot both win.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.repos.accounts import payer_of
from smsgate.store.schema import accounts, inbound_numbers

_n = inbound_numbers


@dataclass(frozen=True, slots=True)
class NumberRecord:
    phone: str
    country: str
    cost: Decimal
    account_id: int | None
    paid_till: float | None
    noprolong: bool
    rented_at: float | None
    created_at: float
    login: str | None = None  # the renter's


class RentOutcome(enum.Enum):
    RENTED = "rented"
    ALREADY_YOURS = "already yours"
    NOT_AVAILABLE = "not available"
    NO_MONEY = "no money"


class RenewOutcome(enum.Enum):
    RENEWED = "renewed"
    RELEASED = "released"  # noprolong, or no money
    SKIPPED = "skipped"  # already renewed or changed by someone else


_COLUMNS = [_n.c[name] for name in NumberRecord.__slots__ if name != "login"]


async def add(conn: AsyncConnection, phone: str, country: str, cost: Decimal, now: float) -> bool:
    """A new free number; False when the number is already in the catalogue."""
    found = (await conn.execute(select(_n.c.phone).where(_n.c.phone == phone))).scalar()
    if found is not None:
        return False
    await conn.execute(insert(_n).values(phone=phone, country=country, cost=cost, created_at=now))
    return True


async def remove(conn: AsyncConnection, phone: str, *, force: bool) -> NumberRecord | None:
    """Delete the number (a rented one only with ``force``); the row as it was, or None when
    there is no such number. A rented number without ``force`` is returned and kept."""
    record = await get(conn, phone, lock=True)
    if record is None or (record.account_id is not None and not force):
        return record
    await conn.execute(delete(_n).where(_n.c.phone == phone))
    return record


async def get(conn: AsyncConnection, phone: str, *, lock: bool = False) -> NumberRecord | None:
    query = select(*_COLUMNS).where(_n.c.phone == phone)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return NumberRecord(**row) if row is not None else None


async def list_all(conn: AsyncConnection) -> list[NumberRecord]:
    """Every number with its renter's login, by number."""
    rows = await conn.execute(
        select(*_COLUMNS, accounts.c.login)
        .select_from(_n.outerjoin(accounts, accounts.c.id == _n.c.account_id))
        .order_by(_n.c.phone)
    )
    return [NumberRecord(**row) for row in rows.mappings()]


async def visible_to(conn: AsyncConnection, account_id: int) -> list[NumberRecord]:
    """The free numbers and the account's own, by number (others' rented numbers are not shown)."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(or_(_n.c.account_id.is_(None), _n.c.account_id == account_id))
        .order_by(_n.c.phone)
    )
    return [NumberRecord(**row) for row in rows.mappings()]


async def renter_of(conn: AsyncConnection, phone: str) -> int | None:
    """The account renting ``phone``, or None."""
    found = (await conn.execute(select(_n.c.account_id).where(_n.c.phone == phone))).scalar()
    return int(found) if found is not None else None


async def _debit(conn: AsyncConnection, payer_id: int, amount: Decimal, now: float) -> bool:
    if amount <= 0:
        return True
    debited = await conn.execute(
        update(accounts)
        .where(accounts.c.id == payer_id, accounts.c.balance - amount >= -accounts.c.credit_limit)
        .values(balance=accounts.c.balance - amount, updated_at=now)
    )
    return debited.rowcount == 1


async def rent(
    conn: AsyncConnection,
    phone: str,
    account_id: int,
    price: Decimal,
    paid_till: float,
    noprolong: bool | None,
    now: float,
) -> RentOutcome:
    """Rent a free number to the account for ``price`` until ``paid_till``. Already the
    account's: only ``noprolong`` changes (nothing is charged twice)."""
    record = await get(conn, phone, lock=True)
    if record is None or (record.account_id not in (None, account_id)):
        return RentOutcome.NOT_AVAILABLE
    if record.account_id == account_id:
        if noprolong is not None:
            await conn.execute(update(_n).where(_n.c.phone == phone).values(noprolong=noprolong))
        return RentOutcome.ALREADY_YOURS
    if not await _debit(conn, await payer_of(conn, account_id), price, now):
        return RentOutcome.NO_MONEY
    taken = await conn.execute(
        update(_n)
        .where(_n.c.phone == phone, _n.c.account_id.is_(None))
        .values(
            account_id=account_id,
            paid_till=paid_till,
            noprolong=bool(noprolong),
            rented_at=now,
        )
    )
    if taken.rowcount != 1:  # cannot happen under the lock; never keep the money for nothing
        raise RuntimeError(f"number {phone} changed under its lock")
    return RentOutcome.RENTED


async def set_noprolong(
    conn: AsyncConnection, phone: str, account_id: int, noprolong: bool
) -> bool:
    """Change renewal of the account's own number; False when it is not the account's."""
    changed = await conn.execute(
        update(_n)
        .where(_n.c.phone == phone, _n.c.account_id == account_id)
        .values(noprolong=noprolong)
    )
    return changed.rowcount == 1


async def due(conn: AsyncConnection, now: float, limit: int) -> list[NumberRecord]:
    """Rented numbers whose paid period has ended, oldest first."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(_n.c.account_id.is_not(None), _n.c.paid_till <= now)
        .order_by(_n.c.paid_till, _n.c.phone)
        .limit(limit)
    )
    return [NumberRecord(**row) for row in rows.mappings()]


async def renew(
    conn: AsyncConnection, seen: NumberRecord, paid_till: float, now: float
) -> RenewOutcome:
    """Renew ``seen`` for a month (its monthly cost from the renter's payer) or release it
    (``noprolong``, or not enough money). Only when the row is still as seen: a second node, or a
    second run, finds it renewed and skips it."""
    still = and_(
        _n.c.phone == seen.phone,
        _n.c.account_id == seen.account_id,
        _n.c.paid_till == seen.paid_till,
    )
    current = (
        await conn.execute(select(_n.c.noprolong, _n.c.cost).where(still).with_for_update())
    ).first()
    if current is None or seen.account_id is None:
        return RenewOutcome.SKIPPED
    if not current.noprolong and await _debit(
        conn, await payer_of(conn, seen.account_id), current.cost, now
    ):
        await conn.execute(update(_n).where(still).values(paid_till=paid_till))
        return RenewOutcome.RENEWED
    await conn.execute(
        update(_n)
        .where(still)
        .values(account_id=None, paid_till=None, noprolong=False, rented_at=None)
    )
    return RenewOutcome.RELEASED
