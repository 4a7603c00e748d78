"""Connector leases: which node runs a connector's binds (DESIGN.md: "each SMPP upstream bind has
exactly one owner at a time (lease row)").

A lease is taken when it is free or expired and renewed by its holder; an expired lease of a dead
node is taken over. Taking it is one conditional UPDATE, or an INSERT that loses quietly to a
concurrent one, so two nodes never both hold it.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.store.schema import connector_leases as leases


async def acquire(
    conn: AsyncConnection, connector: str, node: str, now: float, until: float
) -> bool:
    """Take or renew ``connector``'s lease for ``node`` until ``until``; whether ``node`` holds it."""
    renewed = await conn.execute(
        update(leases)
        .where(
            leases.c.connector == connector,
            or_(leases.c.node == node, leases.c.until < now),
        )
        .values(node=node, until=until)
    )
    if renewed.rowcount:
        return True
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = await conn.execute(
        dialect.insert(leases)
        .values(connector=connector, node=node, until=until)
        .on_conflict_do_nothing(index_elements=[leases.c.connector])
    )
    return bool(inserted.rowcount)


async def release(conn: AsyncConnection, connector: str, node: str) -> None:
    """Give the lease up (a clean shutdown), so another node need not wait for it to expire."""
    await conn.execute(delete(leases).where(leases.c.connector == connector, leases.c.node == node))
