"""Messages received for an account (get.php ``get_answers``, http-api.md §10)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import incoming, messages


@dataclass(frozen=True, slots=True)
class NewIncoming:
    account_id: int
    phone: str  # who sent it
    to_phone: str  # our number it was sent to
    text: str
    received_at: float
    message_id: int | None = None  # the account's message it answers, when known


@dataclass(frozen=True, slots=True)
class IncomingRecord(NewIncoming):
    id: int = 0
    # When the answered message was sent (None: not a reply, or that message is gone).
    sent_at: float | None = None


async def insert_one(conn: AsyncConnection, row: NewIncoming) -> int:
    result = await conn.execute(
        insert(incoming)
        .values(
            account_id=row.account_id,
            phone=row.phone,
            to_phone=row.to_phone,
            text=row.text,
            received_at=row.received_at,
            message_id=row.message_id,
        )
        .returning(incoming.c.id)
    )
    return int(result.scalar_one())


async def answers(
    conn: AsyncConnection,
    account_id: int,
    *,
    after_id: int | None,
    since: float | None,
    to_phone: str | None,
    limit: int,
) -> list[IncomingRecord]:
    """The account's received messages in ascending id, filtered (http-api.md §10 get_answers).

    The answered message's send time is joined only from the same account's messages.
    """
    answered = and_(
        messages.c.id == incoming.c.message_id, messages.c.account_id == incoming.c.account_id
    )
    query = (
        select(
            incoming.c.id,
            incoming.c.account_id,
            incoming.c.phone,
            incoming.c.to_phone,
            incoming.c.text,
            incoming.c.received_at,
            incoming.c.message_id,
            messages.c.created_at.label("sent_at"),
        )
        .select_from(incoming.outerjoin(messages, answered))
        .where(incoming.c.account_id == account_id)
    )
    if after_id is not None:
        query = query.where(incoming.c.id > after_id)
    if since is not None:
        query = query.where(incoming.c.received_at >= since)
    if to_phone is not None:
        query = query.where(incoming.c.to_phone == to_phone)
    rows = (await conn.execute(query.order_by(incoming.c.id).limit(limit))).mappings()
    return [IncomingRecord(**row) for row in rows]
