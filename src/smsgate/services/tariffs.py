"""Tariff administration and lookup."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.pricing import TariffRule, TariffTable
from smsgate.store.db import Database
from smsgate.store.repos import tariffs as repo
from smsgate.store.writer import GroupCommitWriter


class TariffService:
    def __init__(self, db: Database, writer: GroupCommitWriter, clock: Clock) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock

    async def set(self, rule: TariffRule) -> None:
        if rule.price < 0:
            raise ValueError("a price cannot be negative")
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await repo.upsert_rule(conn, rule, now)

        await self._writer.submit(op)

    async def delete(self, rule: TariffRule) -> bool:
        async def op(conn: AsyncConnection) -> bool:
            return await repo.delete_rule(conn, rule)

        return await self._writer.submit(op)

    async def rules(self) -> Sequence[TariffRule]:
        async with self._db.read() as conn:
            return await repo.list_rules(conn)

    async def table(self) -> TariffTable:
        return TariffTable(await self.rules())
