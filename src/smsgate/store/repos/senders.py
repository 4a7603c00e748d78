"""Sender names of accounts (codes.md §5.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import senders


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
    conn: AsyncConnection, account_id: int, name: str, kind: int, status: int, now: float
) -> int:
    result = await conn.execute(
        insert(senders)
        .values(account_id=account_id, name=name, kind=kind, status=status, created_at=now)
        .returning(senders.c.id)
    )
    return int(result.scalar_one())


async def set_status(conn: AsyncConnection, sender_id: int, status: int) -> None:
    await conn.execute(update(senders).where(senders.c.id == sender_id).values(status=status))
