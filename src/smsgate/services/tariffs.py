"""Tariff administration and lookup."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.pricing import TariffRule, TariffTable
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
        self._cache_s = cache_s
        self._table: tuple[TariffTable, float] | None = None

    async def set(self, rule: TariffRule) -> None:
        if rule.price < 0:
            raise ValueError("a price cannot be negative")
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await repo.upsert_rule(conn, rule, now)

        await self._writer.submit(op)
        self._table = None

    async def delete(self, rule: TariffRule) -> bool:
        async def op(conn: AsyncConnection) -> bool:
            return await repo.delete_rule(conn, rule)

        deleted = await self._writer.submit(op)
        self._table = None
        return deleted

    async def rules(self) -> Sequence[TariffRule]:
        async with self._db.read() as conn:
            return await repo.list_rules(conn)

    async def table(self) -> TariffTable:
        """The tariff table, re-read at most every ``cache_s`` (changes made here show at once)."""
        cached = self._table
        now = self._clock.monotonic()
        if cached is not None and now - cached[1] < self._cache_s:
            return cached[0]
        table = TariffTable(await self.rules())
        self._table = (table, now)
        return table
