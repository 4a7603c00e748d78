"""An account's blacklist: numbers it does not send to (http-api.md §6 ``add_black``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import blacklist


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    phone: str
    kind: int
    created_at: float


async def put(
    conn: AsyncConnection, account_id: int, phones: Sequence[str], kind: int, now: float
) -> None:
    """Add the numbers, or change the kind of those already listed (their date is kept)."""
    if not phones:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(blacklist).values(
        [{"account_id": account_id, "phone": p, "kind": kind, "created_at": now} for p in phones]
    )
    statement = statement.on_conflict_do_update(
        index_elements=[blacklist.c.account_id, blacklist.c.phone],
        set_={"kind": statement.excluded.kind},
    )
    await conn.execute(statement)


async def remove(conn: AsyncConnection, account_id: int, phones: Sequence[str]) -> int:
    """Remove the numbers; how many were listed."""
    if not phones:
        return 0
    result = await conn.execute(
        delete(blacklist).where(blacklist.c.account_id == account_id, blacklist.c.phone.in_(phones))
    )
    return int(result.rowcount)


async def entries(conn: AsyncConnection, account_id: int) -> list[BlacklistEntry]:
    """Every entry of the account, in number order."""
    query = (
        select(blacklist.c.phone, blacklist.c.kind, blacklist.c.created_at)
        .where(blacklist.c.account_id == account_id)
        .order_by(blacklist.c.phone)
    )
    return [BlacklistEntry(**row) for row in (await conn.execute(query)).mappings()]
