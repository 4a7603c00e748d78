"""Tariff administration and lookup."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.pricing import TariffRule, TariffTable
from smsgate.services.caching import Refreshed
from smsgate.store.db import Database
from smsgate.store.repos import tariffs as repo
from smsgate.store.writer import GroupCommitWriter

CACHE_S = 5.0


class TariffService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, *, cache_s: float = CACHE_S
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        # Changes made here show at once; on other nodes within ``cache_s``.
        self._table = Refreshed(self._read_table, clock, cache_s)

    async def set(self, rule: TariffRule) -> None:
        if rule.price < 0:
            raise ValueError("a price cannot be negative")
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await repo.upsert_rule(conn, rule, now)

        await self._writer.submit(op)
        self._table.clear()

    async def delete(self, rule: TariffRule) -> bool:
        async def op(conn: AsyncConnection) -> bool:
            return await repo.delete_rule(conn, rule)

        deleted = await self._writer.submit(op)
        self._table.clear()
        return deleted

    async def rules(self) -> Sequence[TariffRule]:
        async with self._db.read() as conn:
            return await repo.list_rules(conn)

    async def table(self) -> TariffTable:
        """The tariff table, re-read at most every ``cache_s``."""
        return await self._table.get()

    async def _read_table(self) -> TariffTable:
        return TariffTable(await self.rules())
