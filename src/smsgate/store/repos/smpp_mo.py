"""Incoming messages on their way to an account's SMPP receivers (protocols.md §3.8): the account's
MO cursor (the last incoming id delivered) and what lies after it.

The cursor moves only while ``node`` holds the account's receipt cursor lease
(``smpp_receipt_cursors``), so one node at a time delivers an account's incoming messages, as its
receipts.
"""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.repos.incoming import IncomingRecord
from smsgate.store.schema import incoming, smpp_mo_cursors, smpp_receipt_cursors

_c = smpp_mo_cursors


async def cursor(conn: AsyncConnection, account_id: int) -> int:
    """The last incoming id delivered (0: none yet; older ones fall out by retention)."""
    found = (
        await conn.execute(select(_c.c.last_incoming_id).where(_c.c.account_id == account_id))
    ).scalar()
    return int(found or 0)


async def after(
    conn: AsyncConnection, account_id: int, last_id: int, since: float, limit: int
) -> list[IncomingRecord]:
    """The account's incoming messages after ``last_id`` received since ``since``, oldest first."""
    rows = await conn.execute(
        select(
            incoming.c.id,
            incoming.c.account_id,
            incoming.c.phone,
            incoming.c.to_phone,
            incoming.c.text,
            incoming.c.received_at,
            incoming.c.message_id,
        )
        .where(
            incoming.c.account_id == account_id,
            incoming.c.id > last_id,
            incoming.c.received_at >= since,
        )
        .order_by(incoming.c.id)
        .limit(limit)
    )
    return [IncomingRecord(**row) for row in rows.mappings()]


async def advance(conn: AsyncConnection, account_id: int, node: str, last_id: int) -> bool:
    """Move the cursor forward to ``last_id`` while ``node`` holds the account's lease; whether
    it holds it."""
    leased = exists().where(
        smpp_receipt_cursors.c.account_id == account_id,
        smpp_receipt_cursors.c.lease_node == node,
    )
    if not (await conn.execute(select(leased))).scalar():
        return False
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    await conn.execute(
        dialect_insert(_c)
        .values(account_id=account_id, last_incoming_id=0)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    await conn.execute(
        update(_c)
        .where(_c.c.account_id == account_id, _c.c.last_incoming_id < last_id)
        .values(last_incoming_id=last_id)
    )
    return True
