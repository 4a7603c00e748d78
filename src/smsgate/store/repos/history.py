"""An account's message history and spending (get.php ``get_messages``, ``get_stat``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.repos.messages import MessageRecord
from smsgate.store.schema import messages

_COLUMNS = [messages.c[f.name] for f in fields(MessageRecord)]
_STOPPED = -2  # codes.md §2: stopped before dispatch, and refunded


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which messages to list: sent in [start, end), to ``phones`` (stored forms; empty = any),
    of ``types`` (None = any) but not of ``exclude_types``, with ids below ``before_id``."""

    start: float
    end: float
    phones: tuple[str, ...] = ()
    types: tuple[int, ...] | None = None
    exclude_types: tuple[int, ...] = ()
    before_id: int | None = None
    limit: int = 100


async def page(conn: AsyncConnection, account_id: int, where: HistoryFilter) -> list[MessageRecord]:
    """The account's undeleted messages matching ``where``, newest (highest id) first."""
    query = select(*_COLUMNS).where(
        messages.c.account_id == account_id,
        messages.c.deleted.is_(False),
        messages.c.created_at >= where.start,
        messages.c.created_at < where.end,
    )
    if where.phones:
        query = query.where(messages.c.phone.in_(where.phones))
    if where.types is not None:
        query = query.where(messages.c.msg_type.in_(where.types))
    if where.exclude_types:
        query = query.where(messages.c.msg_type.not_in(where.exclude_types))
    if where.before_id is not None:
        query = query.where(messages.c.id < where.before_id)
    rows = await conn.execute(query.order_by(messages.c.id.desc()).limit(where.limit))
    return [MessageRecord.from_row(row) for row in rows.mappings()]


async def spending(
    conn: AsyncConnection, account_id: int, start: float | None, end: float | None
) -> tuple[int, Decimal]:
    """Parts and amount charged for the account's messages sent in [start, end): messages with a
    cost, less those stopped and refunded before dispatch (deleted ones were still charged)."""
    query = select(func.sum(messages.c.parts), func.sum(messages.c.cost)).where(
        messages.c.account_id == account_id,
        messages.c.cost > 0,
        messages.c.status != _STOPPED,
    )
    if start is not None:
        query = query.where(messages.c.created_at >= start)
    if end is not None:
        query = query.where(messages.c.created_at < end)
    parts, amount = (await conn.execute(query)).one()
    return int(parts or 0), Decimal(amount) if amount is not None else Decimal(0)
