"""Installation facts in the ``meta`` table."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import meta


async def get(conn: AsyncConnection, key: str) -> str | None:
    value = (await conn.execute(select(meta.c.value).where(meta.c.key == key))).scalar_one_or_none()
    return str(value) if value is not None else None


async def put_if_absent(conn: AsyncConnection, key: str, value: str) -> bool:
    """Set ``key`` unless it exists; True when this call set it."""
    if await get(conn, key) is not None:
        return False
    await conn.execute(insert(meta).values(key=key, value=value))
    return True
