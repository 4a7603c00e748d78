"""An account's message history and spending (get.php ``get_messages``/``get_stat``, http-api.md §10).

Reads only: every query is restricted to the account, and deleted messages (status.php ``del=1``)
are not history any more, though what they cost still counts as spent.
"""

from __future__ import annotations

from decimal import Decimal

from smsgate.store.db import Database
from smsgate.store.repos import history as repo
from smsgate.store.repos.history import HistoryFilter
from smsgate.store.repos.messages import MessageRecord


class HistoryService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def messages(self, account_id: int, where: HistoryFilter) -> list[MessageRecord]:
        """The account's messages matching ``where``, newest first."""
        async with self._db.read() as conn:
            return await repo.page(conn, account_id, where)

    async def spending(
        self, account_id: int, start: float | None, end: float | None
    ) -> tuple[int, Decimal]:
        """(parts, amount) charged for messages sent in [start, end)."""
        async with self._db.read() as conn:
            return await repo.spending(conn, account_id, start, end)
