"""Sender names of accounts (codes.md §5.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import accounts, sender_codes, senders


@dataclass(frozen=True, slots=True)
class SenderRecord:
    id: int
    account_id: int
    name: str
    kind: int
    status: int
    comment: str
    created_at: float


async def list_for(conn: AsyncConnection, account_id: int) -> Sequence[SenderRecord]:
    rows = (
        await conn.execute(
            select(senders).where(senders.c.account_id == account_id).order_by(senders.c.id)
        )
    ).mappings()
    return [SenderRecord(**row) for row in rows]


async def find(conn: AsyncConnection, account_id: int, name: str) -> SenderRecord | None:
    row = (
        (
            await conn.execute(
                select(senders).where(senders.c.account_id == account_id, senders.c.name == name)
            )
        )
        .mappings()
        .first()
    )
    return SenderRecord(**row) if row else None


async def add(
    conn: AsyncConnection,
    account_id: int,
    name: str,
    kind: int,
    status: int,
    now: float,
    comment: str = "",
) -> int:
    result = await conn.execute(
        insert(senders)
        .values(
            account_id=account_id,
            name=name,
            kind=kind,
            status=status,
            created_at=now,
            comment=comment,
        )
        .returning(senders.c.id)
    )
    return int(result.scalar_one())


async def set_status(conn: AsyncConnection, sender_id: int, status: int) -> None:
    await conn.execute(update(senders).where(senders.c.id == sender_id).values(status=status))


async def get(conn: AsyncConnection, account_id: int, sender_id: int) -> SenderRecord | None:
    """A sender of ``account_id`` by id; None for another account's id."""
    row = (
        (
            await conn.execute(
                select(senders).where(senders.c.id == sender_id, senders.c.account_id == account_id)
            )
        )
        .mappings()
        .first()
    )
    return SenderRecord(**row) if row else None


async def set_comment(conn: AsyncConnection, sender_id: int, comment: str) -> None:
    await conn.execute(update(senders).where(senders.c.id == sender_id).values(comment=comment))


async def delete_sender(conn: AsyncConnection, sender_id: int) -> None:
    """Delete a sender, its pending code, and its use as its account's default sender."""
    await conn.execute(delete(sender_codes).where(sender_codes.c.sender_id == sender_id))
    row = (
        await conn.execute(
            delete(senders)
            .where(senders.c.id == sender_id)
            .returning(senders.c.account_id, senders.c.name)
        )
    ).first()
    if row is None:
        return
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == row.account_id, accounts.c.default_sender == row.name)
        .values(default_sender=None)
    )


async def put_code(
    conn: AsyncConnection, sender_id: int, code_hash: str, expires_at: float
) -> None:
    await conn.execute(delete(sender_codes).where(sender_codes.c.sender_id == sender_id))
    await conn.execute(
        insert(sender_codes).values(sender_id=sender_id, code_hash=code_hash, expires_at=expires_at)
    )


async def take_attempt(
    conn: AsyncConnection, sender_id: int, now: float, max_attempts: int
) -> str | None:
    """Count one confirmation attempt; the stored code hash while the code is live (not expired,
    attempts left), else None. The count goes up before the comparison, so a guess cannot be
    repeated past ``max_attempts`` even by concurrent requests."""
    row = (
        await conn.execute(
            update(sender_codes)
            .where(
                sender_codes.c.sender_id == sender_id,
                sender_codes.c.expires_at > now,
                sender_codes.c.attempts < max_attempts,
            )
            .values(attempts=sender_codes.c.attempts + 1)
            .returning(sender_codes.c.code_hash)
        )
    ).first()
    return str(row[0]) if row else None


async def confirm(conn: AsyncConnection, sender_id: int, active: int) -> None:
    await conn.execute(delete(sender_codes).where(sender_codes.c.sender_id == sender_id))
    await conn.execute(update(senders).where(senders.c.id == sender_id).values(status=active))
