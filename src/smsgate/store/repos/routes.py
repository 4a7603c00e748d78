"""The route table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.domain.routing import Route
from smsgate.store.schema import routes


async def list_routes(conn: AsyncConnection) -> Sequence[tuple[int, Route]]:
    """(id, route) pairs in position order."""
    rows = (await conn.execute(select(routes).order_by(routes.c.position, routes.c.id))).mappings()
    return [
        (
            int(row["id"]),
            Route(
                position=row["position"],
                connector=row["connector"],
                msg_type=row["msg_type"],
                country=row["country"],
                operator=row["operator"],
                prefix=row["prefix"],
                account_id=row["account_id"],
            ),
        )
        for row in rows
    ]


async def add_route(conn: AsyncConnection, route: Route) -> int:
    position = route.position
    if position <= 0:  # append
        last = (await conn.execute(select(func.max(routes.c.position)))).scalar_one_or_none()
        position = int(last or 0) + 10
    result = await conn.execute(
        insert(routes)
        .values(
            position=position,
            connector=route.connector,
            msg_type=route.msg_type,
            country=route.country,
            operator=route.operator,
            prefix=route.prefix,
            account_id=route.account_id,
        )
        .returning(routes.c.id)
    )
    return int(result.scalar_one())


async def delete_route(conn: AsyncConnection, route_id: int) -> bool:
    result = await conn.execute(delete(routes).where(routes.c.id == route_id))
    return result.rowcount == 1
