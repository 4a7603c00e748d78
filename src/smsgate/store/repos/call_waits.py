"""Call confirmation waits (issue 7: wait_call.php, http-api.md §12)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import accounts, call_waits

# Arbitrary constant: the first key of the advisory locks that serialise the waits of one
# subscriber across nodes (PostgreSQL; the two-key lock space is separate from the one-key one).
WAIT_LOCK_CLASS = 734_211


@dataclass(frozen=True, slots=True)
class CallWait:
    id: int
    account_id: int
    phone: str
    number: str
    created_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A wait a call confirmed, with what its callback needs of the account."""

    wait: CallWait
    callback_url: str | None
    tz_minutes: int


_COLUMNS = [call_waits.c[name] for name in CallWait.__slots__]


async def lock_subscriber(conn: AsyncConnection, phone: str) -> None:
    """Serialise the waits of ``phone`` until the transaction ends (SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(phone.encode("ascii")) - 2**31  # a signed 32-bit key
        await conn.execute(select(func.pg_advisory_xact_lock(WAIT_LOCK_CLASS, key)))


async def open_waits(conn: AsyncConnection, phone: str, now: float) -> list[CallWait]:
    """Every account's waits for ``phone`` not yet confirmed nor expired."""
    rows = await conn.execute(
        select(*_COLUMNS).where(
            call_waits.c.phone == phone,
            call_waits.c.expires_at > now,
            call_waits.c.confirmed_at.is_(None),
        )
    )
    return [CallWait(*row) for row in rows]


async def extend(conn: AsyncConnection, wait_id: int, expires_at: float) -> None:
    await conn.execute(
        update(call_waits).where(call_waits.c.id == wait_id).values(expires_at=expires_at)
    )


async def add(
    conn: AsyncConnection, account_id: int, phone: str, number: str, now: float, expires_at: float
) -> int:
    result = await conn.execute(
        insert(call_waits)
        .values(
            account_id=account_id,
            phone=phone,
            number=number,
            created_at=now,
            expires_at=expires_at,
        )
        .returning(call_waits.c.id)
    )
    return int(result.scalar_one())


async def confirm(
    conn: AsyncConnection, phone: str, number: str, at: float, grace_s: float
) -> Confirmed | None:
    """Confirm the open wait for a call from ``phone`` to ``number`` at ``at``: one asked for
    before the call (``grace_s`` for clock skew) that had not expired by then."""
    row = (
        await conn.execute(
            select(*_COLUMNS, accounts.c.callback_url, accounts.c.tz_minutes)
            .join(accounts, accounts.c.id == call_waits.c.account_id)
            .where(
                call_waits.c.phone == phone,
                call_waits.c.number == number,
                call_waits.c.confirmed_at.is_(None),
                call_waits.c.created_at <= at + grace_s,
                call_waits.c.expires_at >= at,
            )
            .order_by(call_waits.c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    wait = CallWait(*row[: len(_COLUMNS)])
    claimed = await conn.execute(
        update(call_waits)
        .where(call_waits.c.id == wait.id, call_waits.c.confirmed_at.is_(None))
        .values(confirmed_at=at)
    )
    if not claimed.rowcount:
        return None
    return Confirmed(wait, row.callback_url, int(row.tz_minutes))
