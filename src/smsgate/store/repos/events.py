"""Event rows for status changes made outside the dispatcher (rejection at acceptance, a stop).

The dispatcher writes its own (``repos/dispatch.py``); every row here is written in the same
transaction as the change it records, and the callback sender turns it into a callback.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.repos.dispatch import StatusChange
from smsgate.store.schema import events


async def record(conn: AsyncConnection, changes: Sequence[StatusChange], now: float) -> None:
    if not changes:
        return
    await conn.execute(
        insert(events),
        [
            {
                "message_id": c.message_id,
                "account_id": c.account_id,
                "status": c.status,
                "err": c.err,
                "at": now,
            }
            for c in changes
        ],
    )
