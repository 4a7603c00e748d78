"""Route administration and the table the dispatcher routes by (re-read every ``cache_s``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.routing import Route, RouteTable
from smsgate.services.caching import Refreshed
from smsgate.store.db import Database
from smsgate.store.repos import routes as repo
from smsgate.store.writer import GroupCommitWriter

CACHE_S = 5.0


class RouteService:
    def __init__(
        self,
        db: Database,
        writer: GroupCommitWriter,
        clock: Clock,
        *,
        default_connector: str,
        connectors: Sequence[str],
        type_defaults: Mapping[int, str] | None = None,
        cache_s: float = CACHE_S,
    ) -> None:
        self._db = db
        self._writer = writer
        self._default = default_connector
        # With no routes: the connector of a message type that has its own (e-mail, issue 9).
        self._type_defaults = dict(type_defaults or {})
        self._connectors = frozenset(connectors)
        self._table = Refreshed(self._read_table, clock, cache_s)

    async def add(self, route: Route) -> int:
        if route.connector not in self._connectors:
            known = ", ".join(sorted(self._connectors))
            raise ValueError(f"unknown connector {route.connector!r} (known: {known})")

        async def op(conn: AsyncConnection) -> int:
            return await repo.add_route(conn, route)

        route_id = await self._writer.submit(op)
        self._table.clear()
        return route_id

    async def delete(self, route_id: int) -> bool:
        async def op(conn: AsyncConnection) -> bool:
            return await repo.delete_route(conn, route_id)

        deleted = await self._writer.submit(op)
        self._table.clear()
        return deleted

    async def list(self) -> Sequence[tuple[int, Route]]:
        async with self._db.read() as conn:
            return await repo.list_routes(conn)

    async def table(self) -> RouteTable:
        """The route table, re-read at most every ``cache_s``."""
        return await self._table.get()

    async def _read_table(self) -> RouteTable:
        return RouteTable(
            (route for _, route in await self.list()),
            self._default,
            type_defaults=self._type_defaults,
        )
