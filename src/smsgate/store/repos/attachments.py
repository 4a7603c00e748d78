"""Files attached to mail=1 sends (issue 9): stored once per request, read by the e-mail channel."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.email_delivery import MailAttachment
from smsgate.store.schema import mail_attachments


async def add(
    conn: AsyncConnection, account_id: int, files: Sequence[MailAttachment], now: float
) -> list[int]:
    """Store ``files`` for ``account_id``; their ids in the same order."""
    ids = []
    for file in files:
        result = await conn.execute(
            insert(mail_attachments)
            .values(
                account_id=account_id,
                filename=file.filename,
                content_type=file.content_type,
                size=len(file.data),
                data=file.data,
                created_at=now,
            )
            .returning(mail_attachments.c.id)
        )
        ids.append(int(result.scalar_one()))
    return ids


async def load(conn: AsyncConnection, ids: Sequence[int]) -> list[MailAttachment]:
    """The files with ``ids``, in the order asked; ids that do not exist are left out."""
    rows = await conn.execute(
        select(
            mail_attachments.c.id,
            mail_attachments.c.filename,
            mail_attachments.c.content_type,
            mail_attachments.c.data,
        ).where(mail_attachments.c.id.in_(list(ids)))
    )
    found = {
        int(row.id): MailAttachment(row.filename, row.content_type, bytes(row.data)) for row in rows
    }
    return [found[i] for i in ids if i in found]
