"""The stored numbering plan and portability overrides."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.numbering import NumberRange
from smsgate.store.schema import numbering_ports, numbering_ranges

_CHUNK = 2000


async def replace_ranges(conn: AsyncConnection, ranges: Iterable[NumberRange]) -> int:
    """Replace the whole plan with ``ranges`` (in the caller's transaction); how many were stored."""
    await conn.execute(delete(numbering_ranges))
    count = 0
    chunk: list[dict[str, object]] = []
    for item in ranges:
        chunk.append(
            {
                "code": item.prefix_code,
                "range_start": item.start,
                "range_end": item.end,
                "operator": item.operator,
                "region": item.region,
                "mcc": item.mcc,
                "mnc": item.mnc,
            }
        )
        if len(chunk) >= _CHUNK:
            await conn.execute(insert(numbering_ranges), chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        await conn.execute(insert(numbering_ranges), chunk)
        count += len(chunk)
    return count


async def load_ranges(conn: AsyncConnection) -> Sequence[NumberRange]:
    rows = await conn.execute(
        select(
            numbering_ranges.c.code,
            numbering_ranges.c.range_start,
            numbering_ranges.c.range_end,
            numbering_ranges.c.operator,
            numbering_ranges.c.region,
            numbering_ranges.c.mcc,
            numbering_ranges.c.mnc,
        ).order_by(numbering_ranges.c.id)
    )
    return [NumberRange(*row) for row in rows]


async def load_ports(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(select(numbering_ports.c.phone, numbering_ports.c.operator))
    return {phone: operator for phone, operator in rows}


async def set_port(conn: AsyncConnection, phone: str, operator: str, now: float) -> None:
    await conn.execute(delete(numbering_ports).where(numbering_ports.c.phone == phone))
    await conn.execute(
        insert(numbering_ports).values(phone=phone, operator=operator, updated_at=now)
    )
