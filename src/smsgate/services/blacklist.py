"""An account's blacklist (http-api.md §6 ``add_black``/``del_black``/``get_black``).

Sending reads an account's entries on every request, so they are kept in memory for ``cache_s``:
a change made on this node applies to the next send at once, one made on another node within
``cache_s``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.clock import Clock
from smsgate.domain.contacts import BlacklistKind
from smsgate.services.caching import KeyedRefreshed
from smsgate.store.db import Database
from smsgate.store.repos import blacklist as repo
from smsgate.store.repos.blacklist import BlacklistEntry
from smsgate.store.writer import GroupCommitWriter

CACHE_S = 5.0


class BlacklistService:
    def __init__(
        self, db: Database, writer: GroupCommitWriter, clock: Clock, *, cache_s: float = CACHE_S
    ) -> None:
        self._db = db
        self._writer = writer
        self._clock = clock
        self._kinds: KeyedRefreshed[int, Mapping[str, BlacklistKind]] = KeyedRefreshed(
            clock, cache_s
        )

    async def add(self, account_id: int, phones: Sequence[str], kind: BlacklistKind) -> None:
        """List the numbers (normalised) with ``kind``; listed ones get the new kind."""
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await repo.put(conn, account_id, phones, int(kind), now)

        await self._writer.submit(op)
        self._kinds.forget(account_id)

    async def remove(self, account_id: int, phones: Sequence[str]) -> int:
        """Unlist the numbers; how many were listed."""

        async def op(conn: AsyncConnection) -> int:
            return await repo.remove(conn, account_id, phones)

        removed = await self._writer.submit(op)
        self._kinds.forget(account_id)
        return removed

    async def entries(self, account_id: int) -> list[BlacklistEntry]:
        async with self._db.read() as conn:
            return await repo.entries(conn, account_id)

    async def kinds(self, account_id: int) -> Mapping[str, BlacklistKind]:
        """Number → kind for the account, as sending checks it (cached, see the module docstring)."""

        async def read() -> Mapping[str, BlacklistKind]:
            return {e.phone: BlacklistKind(e.kind) for e in await self.entries(account_id)}

        return await self._kinds.get(account_id, read)
