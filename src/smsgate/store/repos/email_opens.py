"""Opened HTML mails (issue 9): status 1 → 2 with its event row, in one statement pair."""

from __future__ import annotations

from sqlalchemy import literal_column, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.codes import MessageStatus, MessageType
from smsgate.store.repos import events as event_repo
from smsgate.store.repos.dispatch import StatusChange
from smsgate.store.schema import messages


async def mark_read(conn: AsyncConnection, message_id: int, now: float) -> bool:
    """Move e-mail ``message_id`` from delivered (1) to read (2), logging the event; False when it
    is no delivered e-mail (unknown, another type, not delivered yet, or already read)."""
    result = await conn.execute(
        update(messages)
        .where(
            messages.c.id == message_id,
            messages.c.msg_type == literal_column(str(int(MessageType.MAIL))),
            messages.c.status == literal_column(str(int(MessageStatus.DELIVERED))),
        )
        .values(status=int(MessageStatus.READ), updated_at=now)
        .returning(messages.c.account_id, messages.c.err)
    )
    row = result.first()
    if row is None:
        return False
    change = StatusChange(message_id, row.account_id, int(MessageStatus.READ), row.err)
    await event_repo.record(conn, [change], now)
    return True
